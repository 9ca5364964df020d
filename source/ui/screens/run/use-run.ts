/**
 * The run screen's keys, and the one place it reaches the core: starting (and cancelling) a run
 * through the ConsoleCore port, whose events come back as actions.
 */
import {useEffect, useRef, type Dispatch} from 'react';
import {checkArgs} from '../../../protocol/args.js';
import {compileArgsSchema, describeSchemaError} from '../../../protocol/args-schema.js';
import type {ConsoleCore, RunHandle} from '../../core.js';
import {useKeys} from '../../keys.js';
import {parseArgsInput} from './script-choices.js';
import type {RunScreenAction, RunScreenState} from './use-run-state.js';

export function useRun(state: RunScreenState, dispatch: Dispatch<RunScreenAction>, core: ConsoleCore, onBack: () => void, isActive: boolean, onAudit?: (requestId: string) => void): void {
	const handle = useRef<RunHandle | undefined>(undefined);
	// The confirmation a run was started from: a second Enter before the screen has moved on
	// (two keys in one read, or typed faster than a frame) must not start a second run.
	const startedFrom = useRef<RunScreenState | undefined>(undefined);
	useEffect(() => () => {
		handle.current?.cancel();
	}, []);

	useKeys((input, key) => {
		switch (state.step) {
			case 'pick': {
				if (key.upArrow || input === 'k') {
					dispatch({type: 'move', delta: -1});
				} else if (key.downArrow || input === 'j') {
					dispatch({type: 'move', delta: 1});
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
					// A pasted chunk may end with Enter: type its text, then check it, as one key at a time would.
					const text = input.replace(/[\u0000-\u001F]/g, '');
					dispatch({type: 'type', text});
					if (/[\r\n]/.test(input)) {
						dispatch(checkTypedArgs(state.text + text, state.choice.schema));
					}
				}

				return;
			}

			case 'confirm': {
				if (key.escape) {
					onBack();
				} else if (key.backspace || key.delete) {
					dispatch({type: 'erase'});
				} else if (key.return) {
					if (state.choice.confirm && state.typed !== String(state.targets.length)) {
						dispatch({type: 'confirm-refused', reason: `type ${state.targets.length}, the number of targets, to confirm`});
					} else if (state.choice.maxTargets !== undefined && state.targets.length > state.choice.maxTargets) {
						dispatch({type: 'confirm-refused', reason: `${state.choice.name} allows at most ${state.choice.maxTargets} targets (maxTargets in its allowlist entry); narrow the filter`});
					} else if (startedFrom.current !== state) {
						startedFrom.current = state;
						handle.current = core.run({script: state.choice.name, args: state.args, targets: state.targets}, event => {
							dispatch({type: 'event', event});
						});
						dispatch({type: 'started', requestId: handle.current.requestId});
					}
				} else if (input.length > 0) {
					dispatch({type: 'type', text: input});
				}

				return;
			}

			case 'running': {
				if (key.upArrow || input === 'k') {
					dispatch({type: 'move', delta: -1});
				} else if (key.downArrow || input === 'j') {
					dispatch({type: 'move', delta: 1});
				} else if (input === 'c' && !state.run.finished) {
					handle.current?.cancel();
				} else if (input === 'f' && state.run.finished) {
					dispatch({type: 'rerun', targets: state.run.order.filter(name => state.run.agents[name]!.phase !== 'ok')});
				} else if ((key.escape || input === 'q') && state.run.finished) {
					onBack();
				} else if (input === 'a' && state.run.finished) {
					onAudit?.(state.requestId);
				}
			}
		}
	}, isActive);
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
