/**
 * The run screen's keys, and the one place it reaches the core: starting (and cancelling) a run
 * through the ConsoleCore port, whose events come back as actions.
 */
import type {Key} from 'ink';
import {useEffect, useRef, type Dispatch} from 'react';
import {checkArgs} from '../../../protocol/args.js';
import {compileArgsSchema, describeSchemaError} from '../../../protocol/args-schema.js';
import type {AgentResult} from '../../../run/events.js';
import type {ConsoleCore, RunHandle, RunRequest} from '../../core.js';
import {useKeys} from '../../keys.js';
import {parseArgsInput} from './script-choices.js';
import {outcomeOrder} from './run-layout.js';
import type {ConfirmStep, RunScreenAction, RunScreenState} from './use-run-state.js';
import {fieldOfKey, rolloutOf} from './run-controls.js';
import {useApprovalWait} from './approval-wait.js';

/** `page`: how many hosts the running screen's list shows at once (PgUp/PgDn move by that). */
export function useRun(state: RunScreenState, dispatch: Dispatch<RunScreenAction>, core: ConsoleCore, onBack: () => void, isActive: boolean, onAudit?: (requestId: string) => void, onOutput?: (agent: string) => void, onHelp?: () => void, page = 10): void {
	const handle = useRef<RunHandle | undefined>(undefined);
	// The confirmation a run was started from: a second Enter before the screen has moved on
	// (two keys in one read, or typed faster than a frame) must not start a second run.
	const startedFrom = useRef<RunScreenState | undefined>(undefined);
	// The canary question's answer, while the run waits for it.
	const canaryAnswer = useRef<((go: boolean) => void) | undefined>(undefined);
	const answerCanary = (go: boolean) => {
		canaryAnswer.current?.(go);
		canaryAnswer.current = undefined;
	};

	const dryRuns = useRef(0);
	// A run the approvals policy names waits on this screen for its decision.
	const approval = useApprovalWait(dispatch);
	useEffect(() => () => {
		handle.current?.cancel();
		// A run waiting on its canary question is not left waiting: no is the answer.
		canaryAnswer.current?.(false);
	}, []);

	useKeys((input, key) => {
		if (input === '?' && state.step !== 'args' && onHelp) {
			onHelp();
			return;
		}

		switch (state.step) {
			case 'pick': {
				const delta = moveDelta(input, key);
				if (delta !== undefined) {
					dispatch({type: 'move', delta});
				} else if (key.return) {
					dispatch({type: 'pick'});
				} else if (key.escape || input === 'q') {
					onBack();
				}

				return;
			}

			case 'args': {
				if (key.return) {
					dispatch(checkTypedArgs(state.text, state.choice.schema));
				} else if (key.escape) {
					onBack();
				} else if (key.backspace || key.delete) {
					dispatch({type: 'erase'});
				} else if (!key.ctrl && !key.meta && input.length > 0) {
					dispatch({type: 'type', text: input.replace(/[\u0000-\u001F]/g, '')});
				}

				return;
			}

			case 'confirm': {
				if (state.editing) {
					if (key.return) {
						dispatch({type: 'set-control'});
					} else if (key.escape) {
						dispatch({type: 'keep-control'});
					} else if (key.backspace || key.delete) {
						dispatch({type: 'erase'});
					} else if (input.length > 0 && !key.ctrl && !key.meta) {
						dispatch({type: 'type', text: input});
					}

					return;
				}

				const field = fieldOfKey(input);
				if (field && !key.ctrl && !key.meta) {
					dispatch({type: 'edit-control', field});
				} else if (input === 'd' && !key.ctrl && !key.meta) {
					const id = ++dryRuns.current;
					dispatch({type: 'dry-run-asked', id});
					core.dryRun(runRequest(state)).then(view => {
						dispatch({type: 'dry-run-answered', id, view});
					}, (error: unknown) => {
						dispatch({type: 'dry-run-refused', id, reason: (error as Error).message});
					});
				} else if (key.escape) {
					if (state.previous) {
						dispatch({type: 'back'});
					} else {
						onBack();
					}
				} else if (key.backspace || key.delete) {
					dispatch({type: 'erase'});
				} else if (key.return) {
					if (state.choice.maxTargets !== undefined && state.targets.length > state.choice.maxTargets) {
						dispatch({type: 'confirm-refused', reason: `${state.choice.name} allows at most ${state.choice.maxTargets} targets (maxTargets in its allowlist entry); narrow the filter`});
					} else if (state.choice.confirm && state.typed !== String(state.targets.length)) {
						dispatch({type: 'confirm-refused', reason: `type ${state.targets.length}, the number of targets, to confirm`});
					} else if (startedFrom.current !== state) {
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
					}
				} else if (input.length > 0 && !key.ctrl) {
					dispatch({type: 'type', text: input});
				}

				return;
			}

			case 'running': {
				const delta = moveDelta(input, key, page);
				if (state.notice === cancelQuestion && input !== 'c') {
					dispatch({type: 'notice'});
				}

				if (key.escape && approval.waiting()) {
					handle.current?.cancel();
				} else if (state.canary && (input === 'y' || input === 'n')) {
					answerCanary(input === 'y');
					dispatch({type: 'canary-answered', go: input === 'y'});
				} else if (delta !== undefined) {
					dispatch({type: 'move', delta});
				} else if (input === 'c' && !state.run.finished) {
					// A whole fleet's run is not cancelled by one stray key: c asks, c again cancels.
					if (state.notice === cancelQuestion) {
						handle.current?.cancel();
						if (state.canary) {
							answerCanary(false);
							dispatch({type: 'canary-answered', go: false});
						}

						dispatch({type: 'notice', text: 'Cancelling: hosts still running are stopped.'});
					} else {
						dispatch({type: 'notice', text: cancelQuestion});
					}
				} else if (input === 'f' && state.run.finished) {
					dispatch({type: 'rerun', targets: state.run.order.filter(name => state.run.agents[name]!.phase !== 'ok')});
				} else if ((key.escape || input === 'q') && state.run.finished) {
					onBack();
				} else if (input === 'a' && state.run.finished) {
					onAudit?.(state.requestId);
				} else if (key.return) {
					const agent = state.selected ?? outcomeOrder(state.run)[0]?.name;
					if (agent) {
						onOutput?.(agent);
					}
				}
			}
		}
	}, isActive);
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

export const cancelQuestion = 'Cancel this run? c again cancels it; any other key keeps it going.';

/** ↑↓ j k one line; PgUp PgDn a page (`page` lines: what the list shows at once); Home End to either end. */
export function moveDelta(input: string, key: Key, page = 10): number | undefined {
	if (key.upArrow || input === 'k') {
		return -1;
	}

	if (key.downArrow || input === 'j') {
		return 1;
	}

	if (key.pageUp) {
		return -Math.max(1, page);
	}

	if (key.pageDown) {
		return Math.max(1, page);
	}

	if (key.home) {
		return -Infinity;
	}

	return key.end ? Infinity : undefined;
}

/** Parses and validates typed arguments before anything is sent. */
export function checkTypedArgs(text: string, schema: unknown): RunScreenAction {
	const parsed = parseArgsInput(text);
	if (!parsed.ok) {
		return {type: 'args-refused', reason: parsed.reason};
	}

	const limit = checkArgs(parsed.args);
	if (limit) {
		return {type: 'args-refused', reason: limit};
	}

	if (schema !== undefined) {
		const compiled = compileArgsSchema(schema);
		if (!compiled.ok) {
			return {type: 'args-refused', reason: compiled.reason};
		}

		if (!compiled.validate(parsed.args)) {
			return {type: 'args-refused', reason: describeSchemaError(compiled.validate)};
		}
	}

	return {type: 'args-accepted', args: parsed.args};
}
