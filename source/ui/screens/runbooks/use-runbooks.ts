/**
 * The runbook screen's keys, and its one link to the core: it lists the runbooks, asks the dry
 * run, starts the run (whose events come back on the console's clock, in order, with the end
 * last) and answers the questions the run asks. Cancel asks first, as the run screen's does.
 */
import type {Key} from 'ink';
import {useCallback, useEffect, useRef, type Dispatch} from 'react';
import type {RunbookHandle, RunbooksPort} from '../../core.js';
import {useBatched} from '../../frame-clock.js';
import {useKeys} from '../../keys.js';
import {moveDelta} from '../run/use-run.js';
import {checkFields} from './runbook-fields.js';
import type {PlanStep, RunbooksAction, RunbooksState, RunningStep} from './use-runbooks-state.js';

export type RunbooksHandlers = {onBack: () => void; onHelp?: () => void};

export const cancelRunbookQuestion = 'Cancel the runbook? c again stops the step running on every host and runs nothing after it; any other key: no.';
const stillRunning = 'The runbook is running: c cancels it; Esc goes back once it has ended.';

/** `page`: lines PgUp/PgDn scroll the dry run by. */
export function useRunbooks(state: RunbooksState, dispatch: Dispatch<RunbooksAction>, runbooks: RunbooksPort, handlers: RunbooksHandlers, options: {isActive: boolean; page: number}): void {
	const handle = useRef<RunbookHandle | undefined>(undefined);
	const startedFrom = useRef<PlanStep | undefined>(undefined);
	// The question the run waits on: its answer goes back through here.
	const pending = useRef<{resolve: (yes: boolean) => void; expected?: string} | undefined>(undefined);
	const answer = (yes: boolean) => {
		pending.current?.resolve(yes);
		pending.current = undefined;
	};

	const plans = useRef(0);
	const load = useCallback(async () => {
		try {
			dispatch({type: 'listed', entries: await runbooks.list()});
		} catch (error) {
			dispatch({type: 'list-failed', reason: (error as Error).message});
		}
	}, [runbooks, dispatch]);
	useEffect(() => {
		void load();
	}, [load]);
	useEffect(() => () => {
		// Leaving the console (Ctrl-C, a signal) cancels a runbook still running; a question is answered no.
		handle.current?.cancel();
		pending.current?.resolve(false);
	}, []);
	// The run's events (and what it asks, and its end) reach the screen on the console's clock, in order.
	const deliver = useBatched<RunbooksAction>(actions => {
		for (const action of actions) {
			dispatch(action);
		}
	});

	const start = (plan: PlanStep) => {
		if (startedFrom.current === plan || !plan.plan) {
			return;
		}

		startedFrom.current = plan;
		dispatch({type: 'started', at: Date.now()});
		const run = runbooks.run(plan.entry.name, plan.values, {
			onEvent: event => deliver({type: 'event', event}),
			confirm: async (question, expected) => new Promise<boolean>(resolve => {
				pending.current = {resolve, expected};
				deliver({type: 'ask', question: {kind: 'confirm', text: question, typed: ''}});
			}),
			approveCanary: async (step, hosts) => new Promise<boolean>(resolve => {
				pending.current = {resolve};
				deliver({type: 'ask', question: {kind: 'canary', step, hosts}});
			}),
			onWaiting: (step, request) => deliver({type: 'waiting', step, request}),
		});
		handle.current = run;
		run.started.then(({id}) => deliver({type: 'recorded', id}), (error: unknown) => deliver({type: 'refused', reason: (error as Error).message, at: Date.now()}));
		run.done.then(end => deliver({type: 'ended', end: {status: end.status, ...(end.reason ? {reason: end.reason} : {})}, at: Date.now()}), () => undefined);
	};

	useKeys((input, key) => {
		const plain = !key.ctrl && !key.meta;
		if (input === '?' && state.step !== 'params' && !(state.step === 'running' && state.question?.kind === 'confirm')) {
			handlers.onHelp?.();
			return;
		}

		switch (state.step) {
			case 'list': {
				const delta = moveDelta(input, key, options.page);
				if (delta !== undefined) {
					dispatch({type: 'move', delta});
				} else if (key.return) {
					dispatch({type: 'pick'});
				} else if (input === 'g') {
					void load();
				} else if (key.escape || input === 'q') {
					handlers.onBack();
				}

				return;
			}

			case 'params': {
				if (key.upArrow || (key.tab && key.shift)) {
					dispatch({type: 'move', delta: -1});
				} else if (key.downArrow || key.tab) {
					dispatch({type: 'move', delta: 1});
				} else if (key.leftArrow || key.rightArrow) {
					dispatch({type: 'cycle', delta: key.leftArrow ? -1 : 1});
				} else if (key.return) {
					const id = ++plans.current;
					dispatch({type: 'check', id});
					const checked = checkFields(state.fields);
					if (checked.ok) {
						runbooks.plan(state.entry.name, checked.values).then(plan => {
							dispatch({type: 'planned', id, plan});
						}, (error: unknown) => {
							dispatch({type: 'plan-refused', id, reason: (error as Error).message});
						});
					}
				} else if (key.escape) {
					dispatch({type: 'back'});
				} else if (key.backspace || key.delete) {
					dispatch({type: 'erase'});
				} else if (plain && input.length > 0) {
					const text = input.replace(/[\u0000-\u001F\u007F]/g, '');
					if (text.length > 0) {
						dispatch({type: 'type', text});
					}
				}

				return;
			}

			case 'plan': {
				const delta = moveDelta(input, key, options.page);
				if (delta !== undefined) {
					dispatch({type: 'move', delta});
				} else if (key.return) {
					start(state);
				} else if (key.escape || input === 'q') {
					dispatch({type: 'back'});
				}

				return;
			}

			case 'running': {
				runningKey(state, input, key);
			}
		}
	}, options.isActive);

	function runningKey(state: RunningStep, input: string, key: Key) {
		const {question} = state;
		if (question?.kind === 'confirm') {
			if (key.return) {
				if (question.typed === pending.current?.expected) {
					answer(true);
					dispatch({type: 'answered', notice: 'Confirmed: the step runs.'});
				} else {
					dispatch({type: 'notice', text: `type ${pending.current?.expected ?? 'the number asked'} to confirm, or Esc for no`});
				}
			} else if (key.escape) {
				answer(false);
				dispatch({type: 'answered', notice: 'Not confirmed: the step does not run.'});
			} else if (key.backspace || key.delete) {
				dispatch({type: 'erase'});
			} else if (!key.ctrl && input.length > 0) {
				dispatch({type: 'type', text: input});
			}

			return;
		}

		if (question?.kind === 'canary' && (input === 'y' || input === 'n')) {
			answer(input === 'y');
			dispatch({type: 'answered', notice: input === 'y' ? `${question.step}: going on with its other hosts.` : `${question.step}: stopped after the canary.`});
			return;
		}

		const asked = state.notice === cancelRunbookQuestion;
		if (asked && input !== 'c') {
			dispatch({type: 'notice'});
		}

		const delta = moveDelta(input, key);
		if (delta !== undefined) {
			dispatch({type: 'move', delta});
		} else if (key.leftArrow || key.rightArrow || input === 'h' || input === 'l') {
			dispatch({type: 'host', delta: key.leftArrow || input === 'h' ? -1 : 1});
		} else if (input === 'c' && !state.end) {
			if (asked) {
				handle.current?.cancel();
				answer(false);
				dispatch({type: 'answered', notice: 'Cancelling: the step running is stopped on every host; nothing after it runs.'});
			} else {
				dispatch({type: 'notice', text: cancelRunbookQuestion});
			}
		} else if (key.escape || input === 'q') {
			if (state.end) {
				startedFrom.current = undefined;
				dispatch({type: 'back'});
				void load();
			} else {
				dispatch({type: 'notice', text: stillRunning});
			}
		}
	}
}
