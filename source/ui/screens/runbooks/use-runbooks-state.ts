/**
 * The runbook screen's state, step by step: pick a runbook, fill its parameters, read its dry run
 * (every step's hosts and what each host's policy answers), then watch the run: its steps as a
 * list, the chosen step's hosts as panes. What the core asks on the way (a `confirm` script's
 * count, a canary) is a question on the running step; its answer goes back through the hook.
 * The decisions are the core's; this only holds what the screen shows. Pure.
 */
import {useReducer} from 'react';
import type {ApprovalRequest} from '../../../approvals/request.js';
import type {RunbookEvent} from '../../../runbooks/execute.js';
import type {PlanDocument} from '../../../runbooks/plan-document.js';
import type {RunbookEntry} from '../../core.js';
import {outcomeOrder} from '../run/run-layout.js';
import {checkFields, editField, parameterFields, type ParameterField} from './runbook-fields.js';
import {currentStep, reduceSteps, stepViews, type RunbookEnd, type StepView} from './runbook-steps.js';

export type RunbookQuestion =
	| {kind: 'confirm'; text: string; typed: string}
	| {kind: 'canary'; step: string; hosts: number};

export type ListStep = {step: 'list'; entries?: RunbookEntry[]; cursor: number; error?: string};
export type ParamsStep = {step: 'params'; entry: RunbookEntry; fields: ParameterField[]; cursor: number};
/** `plan` once the dry run answered; `refused` with the core's refusal (every problem listed). */
export type PlanStep = {step: 'plan'; entry: RunbookEntry; fields: ParameterField[]; values: Record<string, unknown>; id: number; plan?: PlanDocument; refused?: string; scroll: number};
export type RunningStep = {
	step: 'running';
	entry: RunbookEntry;
	plan: PlanDocument;
	/** The runbook run's id once the core has recorded its start. */
	id?: string;
	steps: StepView[];
	/** The step the operator chose (↑↓); unset: the one running follows. */
	chosen?: string;
	/** The host chosen in the step's panes (← →); unset: the first by outcome. */
	host?: string;
	question?: RunbookQuestion;
	notice?: string;
	waiting?: {step: string; request: ApprovalRequest};
	startedAt: number;
	finishedAt?: number;
	end?: RunbookEnd;
};

export type RunbooksState = ListStep | ParamsStep | PlanStep | RunningStep;

export type RunbooksAction =
	| {type: 'listed'; entries: RunbookEntry[]}
	| {type: 'list-failed'; reason: string}
	| {type: 'move'; delta: number}
	| {type: 'pick'}
	| {type: 'type'; text: string}
	| {type: 'erase'}
	| {type: 'cycle'; delta: number}
	| {type: 'back'}
	/** Enter on the parameters: checked; the dry run is asked (`id` tells its answer from an earlier one's). */
	| {type: 'check'; id: number}
	| {type: 'planned'; id: number; plan: PlanDocument}
	| {type: 'plan-refused'; id: number; reason: string}
	| {type: 'started'; at: number}
	| {type: 'recorded'; id: string}
	| {type: 'refused'; reason: string; at: number}
	| {type: 'event'; event: RunbookEvent}
	| {type: 'ended'; end: RunbookEnd; at: number}
	| {type: 'host'; delta: number}
	| {type: 'ask'; question: RunbookQuestion}
	| {type: 'answered'; notice?: string}
	| {type: 'waiting'; step: string; request: ApprovalRequest}
	| {type: 'notice'; text?: string};

export const initialRunbooksState: RunbooksState = {step: 'list', cursor: 0};

export function reduceRunbooks(state: RunbooksState, action: RunbooksAction): RunbooksState {
	switch (state.step) {
		case 'list': {
			return reduceList(state, action);
		}

		case 'params': {
			return reduceParams(state, action);
		}

		case 'plan': {
			return reducePlan(state, action);
		}

		case 'running': {
			return reduceRunning(state, action);
		}
	}
}

function reduceList(state: ListStep, action: RunbooksAction): RunbooksState {
	switch (action.type) {
		case 'listed': {
			return {...state, entries: action.entries, cursor: clamp(state.cursor, action.entries.length), error: undefined};
		}

		case 'list-failed': {
			return {...state, error: action.reason};
		}

		case 'move': {
			return {...state, cursor: clamp(state.cursor + action.delta, state.entries?.length ?? 0), error: undefined};
		}

		case 'pick': {
			const entry = state.entries?.[state.cursor];
			if (!entry) {
				return state;
			}

			if (entry.problems.length > 0) {
				return {...state, error: `${entry.file} is not a valid runbook: ${entry.problems.join('; ')}`};
			}

			return {step: 'params', entry, fields: parameterFields(entry.parameters), cursor: 0};
		}

		default: {
			return state;
		}
	}
}

function reduceParams(state: ParamsStep, action: RunbooksAction): RunbooksState {
	const edit = (change: (field: ParameterField) => ParameterField) => ({...state, fields: state.fields.map((field, index) => (index === state.cursor ? change(field) : field))});
	switch (action.type) {
		case 'move': {
			return {...state, cursor: clamp(state.cursor + action.delta, state.fields.length)};
		}

		case 'type': {
			return edit(field => editField(field, {type: 'type', text: action.text}));
		}

		case 'erase': {
			return edit(field => editField(field, {type: 'erase'}));
		}

		case 'cycle': {
			return edit(field => editField(field, {type: 'cycle', delta: action.delta}));
		}

		case 'back': {
			return {step: 'list', cursor: 0};
		}

		case 'check': {
			const checked = checkFields(state.fields);
			if (!checked.ok) {
				return {...state, fields: checked.fields, cursor: Math.max(0, checked.fields.findIndex(field => field.error !== undefined))};
			}

			return {step: 'plan', entry: state.entry, fields: state.fields, values: checked.values, id: action.id, scroll: 0};
		}

		default: {
			return state;
		}
	}
}

function reducePlan(state: PlanStep, action: RunbooksAction): RunbooksState {
	switch (action.type) {
		case 'planned': {
			return action.id === state.id ? {...state, plan: action.plan} : state;
		}

		case 'plan-refused': {
			return action.id === state.id ? {...state, refused: action.reason} : state;
		}

		case 'move': {
			return {...state, scroll: Math.max(0, state.scroll + (Number.isFinite(action.delta) ? action.delta : (action.delta < 0 ? -state.scroll : 1e6)))};
		}

		case 'back': {
			return {step: 'params', entry: state.entry, fields: state.fields, cursor: 0};
		}

		case 'started': {
			return state.plan ? {step: 'running', entry: state.entry, plan: state.plan, steps: stepViews(state.plan), startedAt: action.at} : state;
		}

		default: {
			return state;
		}
	}
}

function reduceRunning(state: RunningStep, action: RunbooksAction): RunbooksState {
	switch (action.type) {
		case 'recorded': {
			return {...state, id: action.id};
		}

		case 'refused': {
			return {...state, end: {status: 'failed', reason: action.reason}, finishedAt: action.at, question: undefined};
		}

		case 'event': {
			const waiting = state.waiting && action.event.type === 'step-finished' && action.event.step === state.waiting.step ? {waiting: undefined} : {};
			return {...state, steps: reduceSteps(state.steps, action.event), ...waiting};
		}

		case 'ended': {
			// What was said on the way (a confirmation, a canary's answer) is over with the run.
			return {...state, end: action.end, finishedAt: action.at, question: undefined, waiting: undefined, notice: undefined};
		}

		case 'move': {
			const names = state.steps.map(step => step.name);
			const from = Math.max(0, names.indexOf(shownStep(state) ?? ''));
			return {...state, chosen: names[clamp(from + action.delta, names.length)], host: undefined};
		}

		case 'host': {
			const step = state.steps.find(candidate => candidate.name === shownStep(state));
			const order = step ? outcomeOrder(step.run).map(agent => agent.name) : [];
			const from = Math.max(0, order.indexOf(state.host ?? order[0] ?? ''));
			return order.length === 0 ? state : {...state, host: order[clamp(from + action.delta, order.length)]};
		}

		case 'ask': {
			return {...state, question: action.question};
		}

		case 'type': {
			return state.question?.kind === 'confirm' ? {...state, question: {...state.question, typed: state.question.typed + action.text.replace(/\D/g, '')}} : state;
		}

		case 'erase': {
			return state.question?.kind === 'confirm' ? {...state, question: {...state.question, typed: state.question.typed.slice(0, -1)}} : state;
		}

		case 'answered': {
			return {...state, question: undefined, notice: action.notice};
		}

		case 'waiting': {
			return {...state, waiting: {step: action.step, request: action.request}};
		}

		case 'notice': {
			return {...state, notice: action.text};
		}

		case 'back': {
			return state.end ? {step: 'list', cursor: 0} : state;
		}

		default: {
			return state;
		}
	}
}

/** The step whose hosts are shown: the one chosen, else the one running. */
export function shownStep(state: RunningStep): string | undefined {
	return state.chosen ?? currentStep(state.steps);
}

function clamp(index: number, count: number): number {
	return Math.max(0, Math.min(index, count - 1));
}

export function useRunbooksState() {
	return useReducer(reduceRunbooks, initialRunbooksState);
}
