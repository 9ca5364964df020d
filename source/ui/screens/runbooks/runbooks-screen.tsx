/** The runbook screen as the console shell places it: its state, its keys and its view together. */
import {useLayoutEffect} from 'react';
import type {RunbooksPort} from '../../core.js';
import type {KeyRow} from '../../key-help.js';
import {Runbooks} from './runbooks.js';
import {runbooksKeys, runbooksPlace} from './runbooks-keys.js';
import {useRunbooks, type RunbooksHandlers} from './use-runbooks.js';
import {useRunbooksState} from './use-runbooks-state.js';

export type RunbooksScreenProps = RunbooksHandlers & {
	runbooks: RunbooksPort;
	height: number;
	width: number;
	now: number;
	isActive?: boolean;
	/** Told the keys of the step shown (footer, `?`) and whether a runbook is running (Ctrl-C asks first). */
	onStatus?: (status: {keys: readonly KeyRow[]; going: boolean}) => void;
};

export function RunbooksScreen({runbooks, height, width, now, isActive = true, onStatus, ...handlers}: RunbooksScreenProps) {
	const [state, dispatch] = useRunbooksState();
	useRunbooks(state, dispatch, runbooks, handlers, {isActive, page: Math.max(1, height - 3)});
	const place = runbooksPlace(state);
	const going = state.step === 'running' && !state.end;
	useLayoutEffect(() => {
		onStatus?.({keys: runbooksKeys[place], going});
	}, [onStatus, place, going]);
	return <Runbooks state={state} height={height} width={width} now={now}/>;
}
