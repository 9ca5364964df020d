/**
 * A runbook run on the runbook screen: starting it through the port (a new run, or the resume of
 * an earlier one), its events delivered on the console's clock in order with its end last, the
 * questions it asks (a `confirm` script's count, a canary) answered with the keys (runbook-run-keys.ts), and cancel
 * (asked first, as the run screen's). Leaving the console cancels a run still going.
 */
import type {Key} from 'ink';
import {useEffect, useRef, type Dispatch} from 'react';
import type {RunbookHandle, RunbooksPort} from '../../core.js';
import {useBatched} from '../../frame-clock.js';
import {runbookRunKey} from './runbook-run-keys.js';
import type {PlanStep, RunbooksAction, RunningStep} from './use-runbooks-state.js';

export type RunbookRun = {
	/** Starts the run of a dry run the operator read (once: a second Enter of the same plan does nothing). */
	start: (plan: PlanStep) => void;
	/** A key on the running step (Esc once it ended goes back to the list, which is read again). */
	key: (state: RunningStep, input: string, key: Key) => void;
};

export function useRunbookRun(dispatch: Dispatch<RunbooksAction>, runbooks: RunbooksPort): RunbookRun {
	const handle = useRef<RunbookHandle | undefined>(undefined);
	const startedFrom = useRef<PlanStep | undefined>(undefined);
	// The question the run waits on: its answer goes back through here.
	const pending = useRef<{resolve: (yes: boolean) => void; expected?: string} | undefined>(undefined);
	const answer = (yes: boolean) => {
		pending.current?.resolve(yes);
		pending.current = undefined;
	};

	useEffect(() => () => {
		// Leaving the console (Ctrl-C, a signal) cancels a runbook still running; a question is answered no.
		handle.current?.cancel();
		pending.current?.resolve(false);
	}, []);
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
		}, plan.resume === undefined ? undefined : {resume: plan.resume});
		handle.current = run;
		run.started.then(({id}) => deliver({type: 'recorded', id}), (error: unknown) => deliver({type: 'refused', reason: (error as Error).message, at: Date.now()}));
		run.done.then(end => deliver({type: 'ended', end: {status: end.status, ...(end.reason ? {reason: end.reason} : {})}, at: Date.now()}), () => undefined);
	};

	const key = (state: RunningStep, input: string, pressed: Key) => {
		runbookRunKey(state, input, pressed, {
			dispatch,
			expected: () => pending.current?.expected,
			answer,
			cancel: () => handle.current?.cancel(),
			leave() {
				startedFrom.current = undefined;
				dispatch({type: 'back'});
			},
		});
	};

	return {start, key};
}
