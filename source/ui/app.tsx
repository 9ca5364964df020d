/**
 * The console: the fleet, an agent's details, a run (and a host's whole output), the run history,
 * pairing, the audit trail, and help. It composes screens and holds which one is shown; every
 * socket and process is behind the ConsoleCore port. The fleet's status stays live: asked again
 * in the background (one discovery at a time) and told by every run's results.
 */
import {Box, Text, useApp} from 'ink';
import {useCallback, useMemo, useRef} from 'react';
import type {AgentResult} from '../run/events.js';
import type {ConsoleCore} from './core.js';
import {footer} from './key-help.js';
import {useFleetState} from './screens/fleet/use-fleet-state.js';
import type {HistoryFilter} from './screens/history/run-search.js';
import {theme} from './theme.js';
import {consoleExtensions, type ConsoleExtension} from './extensions.js';
import {KeysProvider} from './keys.js';
import {FrameClock} from './frame-clock.js';
import {useNow} from './use-now.js';
import {useTerminalSize} from './use-terminal-size.js';
import {useFleetDiscovery} from './use-fleet-discovery.js';
import {placeOf} from './console-place.js';
import {useConsoleState} from './use-console-state.js';
import {useConsoleFleet} from './use-console-fleet.js';
import {useConsoleKeys} from './use-console-keys.js';
import {ConsoleHeader} from './console-header.js';
import {ConsoleBody} from './console-body.js';

export type AppProps = {
	core: ConsoleCore;
	title?: string;
	/** Told the exit status as the operator leaves: 0 for `q`, 130 for Ctrl-C (as the CLI's). */
	onQuit?: (status: number) => void;
	/** How often the fleet is asked again in the background, in ms (0: never). */
	refreshMs?: number;
	/** Screens added to the console (extensions.tsx); those the core cannot serve are left out. */
	extensions?: readonly ConsoleExtension[];
};

export function App(props: AppProps) {
	return (
		<KeysProvider>
			<FrameClock>
				<Console {...props}/>
			</FrameClock>
		</KeysProvider>
	);
}

function Console({core, title = 'xi-exec', onQuit, refreshMs = 30_000, extensions: offered = consoleExtensions}: AppProps) {
	const extensions = useMemo(() => offered.filter(extension => extension.available(core)), [offered, core]);
	const {exit: unmount} = useApp();
	const exit = useCallback((status = 0) => {
		onQuit?.(status);
		unmount();
	}, [onQuit, unmount]);
	const size = useTerminalSize();
	const now = useNow(1000);
	const [state, dispatch] = useConsoleState();
	const [fleet, dispatchFleet] = useFleetState();
	const discover = useFleetDiscovery(core, dispatchFleet, refreshMs);
	const historyFilter = useRef<HistoryFilter>({text: ''});
	const {screen} = state;

	useConsoleFleet(state, dispatch, fleet, dispatchFleet, {discover, exit});
	useConsoleKeys(state, dispatch, {
		detailsAgent: screen.name === 'agent' ? fleet.agents.find(agent => agent.name === screen.agent) : undefined,
		extensions,
		editingFilter: fleet.editingFilter,
		exit,
	});
	const onResult = useCallback((result: AgentResult) => {
		// What a run learnt of a host is the fleet's freshest news of it.
		if (result.status !== 'skipped') {
			dispatchFleet({type: 'agent-ran', name: result.agent, reachable: result.status !== 'unreachable', reason: result.reason, via: result.via, at: Date.now()});
		}
	}, [dispatchFleet]);

	const place = placeOf(screen, state.runStatus, fleet.editingFilter, state.extensionStatus?.keys, state.historySearching);
	const hints = state.quitAsked ? 'Ctrl-C again: cancel the run and quit · any other key: stay' : footer(place, size.columns);
	return (
		<Box flexDirection="column" width={size.columns} height={size.rows - 1}>
			<ConsoleHeader title={title} core={core} screen={screen} pairing={state.pairing} extensions={extensions}/>
			{/* Frames stay shorter than the terminal: Ink redraws the whole screen once a frame reaches its height. */}
			<ConsoleBody core={core} state={state} dispatch={dispatch} fleet={fleet} extensions={extensions} height={size.rows - 4} width={size.columns} now={now} discover={discover} onResult={onResult} historyFilter={historyFilter}/>
			<Text color={state.quitAsked ? theme.warn : theme.dim} wrap="truncate">{hints}</Text>
		</Box>
	);
}
