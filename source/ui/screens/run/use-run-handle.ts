/**
 * The run screen's one link to the core: it starts a run (once per confirmation), asks a dry run,
 * cancels, and answers the canary question the run waits on; the run's events come back as
 * actions. Leaving the screen cancels a run still going, and a canary question is answered no.
 */
import {useEffect, useRef, type Dispatch} from 'react';
import type {AgentResult} from '../../../run/events.js';
import type {ConsoleCore, RunHandle, RunRequest} from '../../core.js';
import {useApprovalWait} from './approval-wait.js';
import {rolloutOf} from './run-controls.js';
import type {ConfirmStep, RunScreenAction} from './use-run-state.js';

export type RunControl = {
	/** Starts the confirmation's run; a second call from the same confirmation (two Enters in one read) does nothing. */
	start: (state: ConfirmStep) => void;
	/** Asks the core a dry run of the confirmation's request; only the latest one's answer is shown. */
	dryRun: (state: ConfirmStep) => void;
	cancel: () => void;
	/** Answers the canary question the run waits on (y or n), once. */
	answerCanary: (go: boolean) => void;
	/** Whether the run waits for two-person approval (Esc then stops waiting). */
	waitingApproval: () => boolean;
};

export function useRunHandle(dispatch: Dispatch<RunScreenAction>, core: ConsoleCore): RunControl {
	const handle = useRef<RunHandle | undefined>(undefined);
	// The confirmation a run was started from: a second Enter before the screen has moved on
	// (two keys in one read, or typed faster than a frame) must not start a second run.
	const startedFrom = useRef<ConfirmStep | undefined>(undefined);
	// The canary question's answer, while the run waits for it.
	const canaryAnswer = useRef<((go: boolean) => void) | undefined>(undefined);
	const dryRuns = useRef(0);
	// A run the approvals policy names waits on this screen for its decision.
	const approval = useApprovalWait(dispatch);
	useEffect(() => () => {
		handle.current?.cancel();
		// A run waiting on its canary question is not left waiting: no is the answer.
		canaryAnswer.current?.(false);
	}, []);

	const start = (state: ConfirmStep) => {
		if (startedFrom.current === state) {
			return;
		}

		startedFrom.current = state;
		const total = state.targets.length;
		// A canary run asks the operator, on the running screen, before it goes on.
		const approveCanary = async (canary: AgentResult[]) => new Promise<boolean>(resolve => {
			canaryAnswer.current = resolve;
			dispatch({type: 'canary-asked', hosts: canary.length, rest: total - canary.length});
		});
		handle.current = core.run({...runRequest(state), onApproval: approval.onApproval, ...(state.controls.canary === undefined ? {} : {approveCanary})}, event => {
			dispatch({type: 'event', event, at: Date.now()});
		});
		dispatch({type: 'started', requestId: handle.current.requestId, at: Date.now()});
	};

	const dryRun = (state: ConfirmStep) => {
		const id = ++dryRuns.current;
		dispatch({type: 'dry-run-asked', id});
		core.dryRun(runRequest(state)).then(view => {
			dispatch({type: 'dry-run-answered', id, view});
		}, (error: unknown) => {
			dispatch({type: 'dry-run-refused', id, reason: (error as Error).message});
		});
	};

	return {
		start,
		dryRun,
		cancel: () => handle.current?.cancel(),
		answerCanary(go) {
			canaryAnswer.current?.(go);
			canaryAnswer.current = undefined;
		},
		waitingApproval: approval.waiting,
	};
}

/** The confirmation's request: its script, arguments and targets, with the run controls set on it. */
function runRequest(state: ConfirmStep): RunRequest {
	const rollout = rolloutOf(state.controls);
	return {
		script: state.choice.name,
		args: state.args,
		targets: state.targets,
		...(Object.keys(rollout).length > 0 ? {rollout} : {}),
		...(state.controls.timeoutSeconds === undefined ? {} : {timeoutSeconds: state.controls.timeoutSeconds}),
	};
}
