/**
 * The console: the fleet, an agent's details, a run (and a host's whole output), the run history,
 * pairing, the audit trail, and help. It composes screens and holds which one is shown; every
 * socket and process is behind the ConsoleCore port. The fleet's status stays live: asked again
 * in the background (one discovery at a time) and told by every run's results.
 */
import {Box, Text, useApp} from 'ink';
import {useCallback, useMemo, useRef, useState} from 'react';
import type {AgentResult} from '../run/events.js';
import type {StoredRun} from '../history/run-record.js';
import type {ConsoleCore} from './core.js';
import {Help} from './components/help.js';
import {footer, type KeyPlace, type KeyRow} from './key-help.js';
import {AuditScreen} from './screens/audit/audit-screen.js';
import {AgentDetails} from './screens/agent-details/agent-details.js';
import {Fleet} from './screens/fleet/fleet.js';
import {useFleet} from './screens/fleet/use-fleet.js';
import {selectedAgent, useFleetState, visibleAgents, type FleetAgent} from './screens/fleet/use-fleet-state.js';
import {HistoryScreen} from './screens/history/history-screen.js';
import type {HistoryFilter} from './screens/history/run-search.js';
import {PairingScreen} from './screens/pairing/pairing-screen.js';
import {RunScreen, type RunEntry, type RunStatus} from './screens/run/run-screen.js';
import {theme} from './theme.js';
import {consoleExtensions, type ConsoleExtension} from './extensions.js';
import {KeysProvider, useKeys} from './keys.js';
import {FrameClock} from './frame-clock.js';
import {useNow} from './use-now.js';
import {useTerminalSize} from './use-terminal-size.js';
import {useFleetDiscovery} from './use-fleet-discovery.js';
import {placeOf, screenTitle} from './console-place.js';

/** A run screen: on these targets, or a past run from the history (shown finished; f reruns from it). */
type RunScreenEntry = RunEntry & {name: 'run'; history?: HistoryEntry};
/** The run history, searched as it was left (`filter`); from an agent's details, that agent's runs only. */
export type HistoryEntry = {name: 'history'; filter?: HistoryFilter};
export type Screen =
	| {name: 'fleet'}
	| {name: 'agent'; agent: string}
	| RunScreenEntry
	| HistoryEntry
	| {name: 'pairing'}
	| {name: 'audit'; requestId?: string; back: Screen}
	/** A screen another part of the product added (extensions.tsx). */
	| {name: 'extension'; extension: ConsoleExtension}
	| {name: 'help'; place: KeyPlace; extension?: ConsoleExtension; back: Screen};

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

let runScreens = 0;

function Console({core, title = 'xi-exec', onQuit, refreshMs = 30_000, extensions: offered = consoleExtensions}: AppProps) {
	const extensions = useMemo(() => offered.filter(extension => extension.available(core)), [offered, core]);
	const {exit: unmount} = useApp();
	const exit = useCallback((status = 0) => {
		onQuit?.(status);
		unmount();
	}, [onQuit, unmount]);
	const size = useTerminalSize();
	const now = useNow(1000);

	const [screen, setScreen] = useState<Screen>({name: 'fleet'});
	const [fleet, dispatchFleet] = useFleetState();
	const [runStatus, setRunStatus] = useState<RunStatus>({place: 'pick', going: false});
	const [quitAsked, setQuitAsked] = useState(false);
	// What a screen added to the console says of itself: the keys of its step, whether a run of its is going.
	const [extensionStatus, setExtensionStatus] = useState<{keys: readonly KeyRow[]; going: boolean} | undefined>(undefined);
	// The pairing listener, once opened with p, stays open while the screen is left with `l`
	// (a notice on every screen counts the requests waiting); Esc on the pairing screen closes it.
	const [pairing, setPairing] = useState({open: false, pending: 0});

	const discover = useFleetDiscovery(core, dispatchFleet, refreshMs);

	const back = useCallback(() => {
		setScreen({name: 'fleet'});
	}, []);
	const openRun = useCallback((targets: FleetAgent[], past?: StoredRun, history?: HistoryEntry) => {
		setRunStatus({place: past ? 'finished' : 'pick', going: false});
		setScreen({name: 'run', targets, ...(past ? {past} : {}), ...(history ? {history} : {}), id: ++runScreens});
	}, []);
	// The history's search as last typed: a run opened from it comes back to the same runs found.
	const historyFilter = useRef<HistoryFilter>({text: ''});
	const [historySearching, setHistorySearching] = useState(false);
	// Frames stay shorter than the terminal: Ink redraws the whole screen once a frame reaches its height.
	const bodyHeight = size.rows - 4;

	useFleet(fleet, dispatchFleet, {
		onOpen() {
			const agent = selectedAgent(fleet);
			if (agent) {
				setScreen({name: 'agent', agent: agent.name});
			}
		},
		onRun() {
			openRun(visibleAgents(fleet));
		},
		onPair() {
			setPairing(current => ({...current, open: true}));
			setScreen({name: 'pairing'});
		},
		onRefresh() {
			dispatchFleet({type: 'rediscover'});
			void discover(false);
		},
		onAudit() {
			setScreen({name: 'audit', back: {name: 'fleet'}});
		},
		onHistory() {
			setHistorySearching(false);
			setScreen({name: 'history'});
		},
		onHelp() {
			setScreen({name: 'help', place: fleet.editingFilter ? 'filter' : 'fleet', back: {name: 'fleet'}});
		},
		onQuit() {
			exit(0);
		},
	}, screen.name === 'fleet');

	const detailsAgent = screen.name === 'agent' ? fleet.agents.find(agent => agent.name === screen.agent) : undefined;
	useKeys((input, key) => {
		if (screen.name === 'help') {
			setScreen(screen.back);
		} else if (screen.name === 'agent' && (key.escape || input === 'q' || key.return)) {
			back();
		} else if (screen.name === 'agent' && input === 'r' && detailsAgent) {
			openRun([detailsAgent]);
		} else if (screen.name === 'agent' && input === 'h') {
			setHistorySearching(false);
			setScreen({name: 'history', filter: {text: '', agent: screen.agent}});
		} else if (screen.name === 'agent' && input === '?') {
			setScreen({name: 'help', place: 'agent', back: screen});
		}
	}, screen.name === 'help' || screen.name === 'agent');

	// The keys on the fleet that open the screens added to the console.
	useKeys(input => {
		const extension = extensions.find(offered => offered.key === input);
		if (extension) {
			setExtensionStatus(undefined);
			setScreen({name: 'extension', extension});
		}
	}, screen.name === 'fleet' && !fleet.editingFilter && extensions.length > 0);

	// Ctrl-C quits with 130; while a run is going it asks first (the run is cancelled as the console leaves).
	useKeys((input, key) => {
		if (key.ctrl && input === 'c') {
			const going = (runStatus.going && screen.name === 'run') || (screen.name === 'extension' && extensionStatus?.going === true);
			if (going && !quitAsked) {
				setQuitAsked(true);
			} else {
				exit(130);
			}
		} else if (quitAsked) {
			setQuitAsked(false);
		}
	});

	const onResult = useCallback((result: AgentResult) => {
		// What a run learnt of a host is the fleet's freshest news of it.
		if (result.status !== 'skipped') {
			dispatchFleet({type: 'agent-ran', name: result.agent, reachable: result.status !== 'unreachable', reason: result.reason, via: result.via, at: Date.now()});
		}
	}, [dispatchFleet]);

	// A run's audit records are shown over the run, which stays as it was for Esc to come back to.
	// So is help (`?`): the run screen stays mounted under both, its run going on.
	const runEntry = screen.name === 'run' ? screen : (screen.name === 'audit' || screen.name === 'help') && screen.back.name === 'run' ? screen.back : undefined;
	// A screen added to the console stays mounted under its help too (a runbook it runs goes on).
	const extensionEntry = screen.name === 'extension' ? screen : screen.name === 'help' && screen.back.name === 'extension' ? screen.back : undefined;
	const place = placeOf(screen, runStatus, fleet.editingFilter, extensionStatus?.keys, historySearching);
	const hints = quitAsked ? 'Ctrl-C again: cancel the run and quit · any other key: stay' : footer(place, size.columns);
	const pairingNotice = pairing.open && screen.name !== 'pairing'
		? `pairing: listening${pairing.pending > 0 ? ` · ${pairing.pending} ${pairing.pending === 1 ? 'request waits' : 'requests wait'}` : ''} (p)`
		: '';
	return (
		<Box flexDirection="column" width={size.columns} height={size.rows - 1}>
			<Box justifyContent="space-between">
				<Text bold color={theme.accent}>{title}</Text>
				<Box>
					{pairingNotice === '' ? null : <Text color={pairing.pending > 0 ? theme.warn : theme.info} bold={pairing.pending > 0}>{`${pairingNotice}  `}</Text>}
					{extensions.map(extension => (extension.Badge ? <extension.Badge key={extension.name} core={core}/> : null))}
					<Text color={theme.dim}>{screen.name === 'extension' ? screen.extension.name : screenTitle(screen)}</Text>
				</Box>
			</Box>
			<Box flexDirection="column" flexGrow={1}>
				{screen.name === 'fleet' ? <Fleet state={fleet} height={bodyHeight} width={size.columns} now={now}/> : null}
				{screen.name === 'agent' && detailsAgent ? <AgentDetails agent={detailsAgent} height={bodyHeight} now={now}/> : null}
				{runEntry ? (
					<Box display={screen.name === 'run' ? 'flex' : 'none'} flexDirection="column">
						<RunScreen
							key={runEntry.id}
							core={core}
							entry={runEntry}
							height={bodyHeight}
							width={size.columns}
							now={now}
							isActive={screen.name === 'run'}
							onBack={runEntry.past ? () => setScreen(runEntry.history ?? {name: 'history'}) : back}
							onAudit={requestId => {
								setScreen({name: 'audit', requestId, back: runEntry});
							}}
							onHelp={helpPlace => {
								setScreen({name: 'help', place: helpPlace, back: runEntry});
							}}
							onResult={onResult}
							onStatus={setRunStatus}
							fleet={fleet.agents}
						/>
					</Box>
				) : null}
				{screen.name === 'history' ? <HistoryScreen core={core} height={bodyHeight} filter={screen.filter} onOpen={run => {
					openRun(fleet.agents, run, {name: 'history', filter: historyFilter.current});
				}} onBack={screen.filter?.agent === undefined ? back : () => {
					setScreen({name: 'agent', agent: screen.filter!.agent!});
				}} onHelp={() => {
					setScreen({name: 'help', place: historySearching ? 'history-search' : 'history', back: {name: 'history', filter: historyFilter.current}});
				}} onFilter={(filter, editing) => {
					historyFilter.current = filter;
					setHistorySearching(editing);
				}}/> : null}
				{screen.name === 'audit' ? <AuditScreen key={screen.requestId ?? ''} core={core} requestId={screen.requestId} height={bodyHeight} width={size.columns} onBack={() => {
					setScreen(screen.back);
				}} onHelp={() => {
					setScreen({name: 'help', place: screen.requestId === undefined ? 'audit' : 'audit-run', back: screen});
				}}/> : null}
				{pairing.open ? (
					<Box display={screen.name === 'pairing' ? 'flex' : 'none'} flexDirection="column">
						<PairingScreen core={core} height={bodyHeight} isActive={screen.name === 'pairing'} onBack={() => {
							setPairing({open: false, pending: 0});
							back();
							void discover(false);
						}} onKeep={() => {
							back();
							void discover(false);
						}} onPending={pending => {
							setPairing(current => (current.pending === pending ? current : {...current, pending}));
						}}/>
					</Box>
				) : null}
				{extensionEntry ? (
					<Box display={screen.name === 'extension' ? 'flex' : 'none'} flexDirection="column">
						<extensionEntry.extension.Screen core={core} height={bodyHeight} width={size.columns} now={now} isActive={screen.name === 'extension'} onBack={back} onStatus={setExtensionStatus} onHelp={() => {
							setScreen({name: 'help', place: 'help', extension: extensionEntry.extension, back: extensionEntry});
						}}/>
					</Box>
				) : null}
				{screen.name === 'help' ? (
					screen.extension
						? <Help place={screen.place} rows={extensionStatus?.keys ?? screen.extension.keys} title={screen.extension.title}/>
						: <Help place={screen.place} more={screen.place === 'fleet' ? extensions.map(extension => extension.fleetRow) : []}/>
				) : null}
			</Box>
			<Text color={quitAsked ? theme.warn : theme.dim} wrap="truncate">{hints}</Text>
		</Box>
	);
}
