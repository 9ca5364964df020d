/**
 * The runbook screen's state, step by step: pick a runbook, fill its parameters, read its dry run
 * (every step's hosts and what each host's policy answers), then watch the run: its steps as a
 * list, the chosen step's hosts as panes. What the core asks on the way (a `confirm` script's
 * count, a canary) is a question on the running step; its answer goes back through the hook.
 * Tab on the list shows the runbook runs instead (waiting, failed, cancelled, interrupted ones
 * first to mind); Enter on one resumes it (`runbook run --resume ID`): its secret parameters are
 * asked again, then its dry run, then the run. The decisions are the core's; this only holds what
 * the screen shows. Pure.
 */
import {useReducer} from 'react';
import type {ApprovalRequest} from '../../../approvals/request.js';
import type {RunbookEvent} from '../../../runbooks/execute.js';
import type {PlanDocument} from '../../../runbooks/plan-document.js';
import type {RunbookEntry, RunbookRunEntry} from '../../core.js';
import {outcomeOrder} from '../run/run-layout.js';
import {checkFields, editField, parameterFields, type ParameterField} from './runbook-fields.js';
import {currentStep, reduceSteps, stepViews, type RunbookEnd, type StepView} from './runbook-steps.js';

export type RunbookQuestion =
	| {kind: 'confirm'; text: string; typed: string}
	| {kind: 'canary'; step: string; hosts: number};

/** `view`: the runbook files, or the runbook runs in the history (Tab). */
export type ListStep = {step: 'list'; view: 'files' | 'runs'; entries?: RunbookEntry[]; runs?: RunbookRunEntry[]; cursor: number; error?: string};
/** `resume`: the id of the run this continues (its secret parameters are the fields). */
export type ParamsStep = {step: 'params'; entry: RunbookEntry; fields: ParameterField[]; cursor: number; resume?: string};
/** `plan` once the dry run answered; `refused` with the core's refusal (every problem listed). */
export type PlanStep = {step: 'plan'; entry: RunbookEntry; fields: ParameterField[]; values: Record<string, unknown>; id: number; plan?: PlanDocument; refused?: string; scroll: number; resume?: string};
export type RunningStep = {
	step: 'running';
	entry: RunbookEntry;
	resume?: string;
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
	| {type: 'runs-listed'; runs: RunbookRunEntry[]}
	| {type: 'list-failed'; reason: string}
	| {type: 'move'; delta: number}
	/** Tab: the runbook files, or their runs. */
	| {type: 'view'}
	/** Enter on the list; on a run to resume with no secret to ask, its dry run is asked at once (`id`). */
	| {type: 'pick'; id?: number}
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

export const initialRunbooksState: RunbooksState = {step: 'list', view: 'files', cursor: 0};

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
			return {...state, entries: action.entries, cursor: state.view === 'files' ? clamp(state.cursor, action.entries.length) : state.cursor, error: undefined};
		}

		case 'runs-listed': {
			return {...state, runs: action.runs, cursor: state.view === 'runs' ? clamp(state.cursor, action.runs.length) : state.cursor};
		}

		case 'list-failed': {
			return {...state, error: action.reason};
		}

		case 'move': {
			return {...state, cursor: clamp(state.cursor + action.delta, (state.view === 'files' ? state.entries : state.runs)?.length ?? 0), error: undefined};
		}

		case 'view': {
			return {...state, view: state.view === 'files' ? 'runs' : 'files', cursor: 0, error: undefined};
		}

		case 'pick': {
			return state.view === 'files' ? pickRunbook(state) : pickRun(state, action.id);
		}

		default: {
			return state;
		}
	}
}

function pickRunbook(state: ListStep): RunbooksState {
	const entry = state.entries?.[state.cursor];
	if (!entry) {
		return state;
	}

	if (entry.problems.length > 0) {
		return {...state, error: `${entry.file} is not a valid runbook: ${entry.problems.join('; ')}`};
	}

	return {step: 'params', entry, fields: parameterFields(entry.parameters), cursor: 0};
}

/** Enter on a run: its secret parameters asked again, or (with none) its dry run at once. */
function pickRun(state: ListStep, id: number | undefined): RunbooksState {
	const target = resumeTarget(state);
	if (!target) {
		return state;
	}

	if (!target.ok) {
		return {...state, error: target.reason};
	}

	const {entry, run, secrets} = target;
	if (secrets.length > 0) {
		return {step: 'params', entry, fields: parameterFields(secrets), cursor: 0, resume: run.id};
	}

	return id === undefined ? state : {step: 'plan', entry, fields: [], values: {}, id, scroll: 0, resume: run.id};
}

/** Whether `runbook run --resume` continues a run in that state: not one that ended ok, nor one running elsewhere. */
export function canResume(status: RunbookRunEntry['status']): boolean {
	return status !== 'ok' && status !== 'running';
}

/**
 * The run chosen on the runs list, if it can be resumed here: its runbook's file (as listed now)
 * and the secret parameters to give again. Undefined when nothing is chosen.
 */
export function resumeTarget(state: ListStep): {ok: true; run: RunbookRunEntry; entry: RunbookEntry; secrets: RunbookEntry['parameters']} | {ok: false; reason: string} | undefined {
	const run = state.view === 'runs' ? state.runs?.[state.cursor] : undefined;
	if (!run) {
		return undefined;
	}

	if (!canResume(run.status)) {
		return {ok: false, reason: run.status === 'running' ? `Run ${run.id} is still running in another process; it cannot be resumed while it runs.` : `Run ${run.id} ended ${run.status}: there is nothing to resume (xi-exec runbook run --resume ${run.id} --from STEP runs it again from a step).`};
	}

	const entry = state.entries?.find(candidate => candidate.name === run.runbook);
	if (!entry || entry.problems.length > 0) {
		return {ok: false, reason: entry ? `${entry.file} is not a valid runbook now: ${entry.problems.join('; ')}` : `Runbook ${run.runbook} is no longer in runbooks/: run ${run.id} cannot be resumed.`};
	}

	return {ok: true, run, entry, secrets: entry.parameters.filter(parameter => parameter.secret)};
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
			return backToList(state.resume);
		}

		case 'check': {
			const checked = checkFields(state.fields);
			if (!checked.ok) {
				return {...state, fields: checked.fields, cursor: Math.max(0, checked.fields.findIndex(field => field.error !== undefined))};
			}

			return {step: 'plan', entry: state.entry, fields: state.fields, values: checked.values, id: action.id, scroll: 0, ...(state.resume ? {resume: state.resume} : {})};
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
			// A resume with nothing to ask goes back to the runs it was picked from.
			return state.resume !== undefined && state.fields.length === 0 ? backToList(state.resume) : {step: 'params', entry: state.entry, fields: state.fields, cursor: 0, ...(state.resume ? {resume: state.resume} : {})};
		}

		case 'started': {
			return state.plan ? {step: 'running', entry: state.entry, plan: state.plan, steps: stepViews(state.plan), startedAt: action.at, ...(state.resume ? {resume: state.resume} : {})} : state;
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
			return state.end ? backToList(state.resume) : state;
		}

		default: {
			return state;
		}
	}
}

/** Back to the list: the runs, when a resume was left. */
function backToList(resume: string | undefined): ListStep {
	return {step: 'list', view: resume === undefined ? 'files' : 'runs', cursor: 0};
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
