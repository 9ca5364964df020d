/** A host's whole output as the console shell places it: its lines (live while it runs), the view's state and keys. */
import {useMemo} from 'react';
import type {KeyPlace} from '../../key-help.js';
import {liveTail, type LiveLine} from '../run/live-lines.js';
import type {RunScreenState} from '../run/use-run-state.js';
import {Output, outputRows} from './output.js';
import {outputLines} from './output-lines.js';
import {useOutput} from './use-output.js';
import {useOutputState} from './use-output-state.js';

export function OutputScreen({agent, live, height, width, isActive, onBack, onHelp}: {agent: NonNullable<Extract<RunScreenState, {step: 'running'}>['run']['agents'][string]>; live: readonly LiveLine[] | undefined; height: number; width: number; isActive: boolean; onBack: () => void; onHelp: (place: KeyPlace) => void}) {
	const [state, dispatch] = useOutputState();
	// While the host runs, its lines as they came (stderr marked); once it has finished, its whole result.
	const lines = useMemo(() => (!agent.result && live ? liveTail(live, live.length) : outputLines(agent)), [agent, live]);
	const texts = useMemo(() => lines.map(line => line.text), [lines]);
	useOutput(state, dispatch, {lines: texts, rows: outputRows(agent, height, width), onBack, onHelp: () => {
		onHelp(state.editing ? 'output-search' : 'output');
	}}, isActive);
	return <Output agent={agent} lines={lines} state={state} height={height} width={width}/>;
}
