/**
 * The screen the console shows, between its header and its footer. A run screen, the pairing
 * screen and a screen added to the console stay mounted while another is shown over them (audit,
 * help, the fleet with the pairing listener kept open): what they started goes on, and Esc comes
 * back to them as they were.
 */
import {Box} from 'ink';
import {useMemo, type Dispatch, type MutableRefObject} from 'react';
import type {AgentResult} from '../run/events.js';
import {Help} from './components/help.js';
import type {ConsoleCore} from './core.js';
import type {ConsoleExtension} from './extensions.js';
import {AgentDetails} from './screens/agent-details/agent-details.js';
import {AuditScreen} from './screens/audit/audit-screen.js';
import {Fleet} from './screens/fleet/fleet.js';
import type {FleetState} from './screens/fleet/use-fleet-state.js';
import {HistoryScreen} from './screens/history/history-screen.js';
import type {HistoryFilter} from './screens/history/run-search.js';
import {PairingScreen} from './screens/pairing/pairing-screen.js';
import {RunScreen, type RunStatus} from './screens/run/run-screen.js';
import {extensionEntryOf, runEntryOf, type ConsoleAction, type ConsoleState, type ExtensionEntry, type ExtensionStatus, type HistoryEntry, type RunScreenEntry, type Screen} from './use-console-state.js';

export type ConsoleBodyProps = {
	core: ConsoleCore;
	state: ConsoleState;
	dispatch: Dispatch<ConsoleAction>;
	fleet: FleetState;
	extensions: readonly ConsoleExtension[];
	/** The body's size: frames stay shorter than the terminal. */
	height: number;
	width: number;
	now: number;
	/** Asks the fleet again (back from pairing: a new agent shows at once). */
	discover: (background: boolean) => Promise<void>;
	/** What a run learnt of a host, for the fleet. */
	onResult: (result: AgentResult) => void;
	/** The history's search as last typed: a run opened from it comes back to the same runs found. */
	historyFilter: MutableRefObject<HistoryFilter>;
};

export function ConsoleBody(props: ConsoleBodyProps) {
	const {state, fleet, height, width, now} = props;
	const {screen} = state;
	const detailsAgent = screen.name === 'agent' ? fleet.agents.find(agent => agent.name === screen.agent) : undefined;
	const runEntry = runEntryOf(screen);
	const extensionEntry = extensionEntryOf(screen);
	return (
		<Box flexDirection="column" flexGrow={1}>
			{screen.name === 'fleet' ? <Fleet state={fleet} height={height} width={width} now={now}/> : null}
			{detailsAgent ? <AgentDetails agent={detailsAgent} height={height} now={now}/> : null}
			{runEntry ? <RunLayer {...props} entry={runEntry}/> : null}
			{screen.name === 'history' ? <HistoryLayer {...props} entry={screen}/> : null}
			{screen.name === 'audit' ? <AuditLayer {...props} entry={screen}/> : null}
			{state.pairing.open ? <PairingLayer {...props}/> : null}
			{extensionEntry ? <ExtensionLayer {...props} entry={extensionEntry}/> : null}
			{screen.name === 'help' ? <HelpLayer {...props} entry={screen}/> : null}
		</Box>
	);
}

function RunLayer({core, state, dispatch, fleet, height, width, now, onResult, entry}: ConsoleBodyProps & {entry: RunScreenEntry}) {
	const shown = state.screen.name === 'run';
	const onStatus = useMemo(() => (status: RunStatus) => {
		dispatch({type: 'run-status', status});
	}, [dispatch]);
	return (
		<Box display={shown ? 'flex' : 'none'} flexDirection="column">
			<RunScreen
				key={entry.id}
				core={core}
				entry={entry}
				height={height}
				width={width}
				now={now}
				isActive={shown}
				onBack={() => dispatch(entry.past ? {type: 'show', screen: entry.history ?? {name: 'history'}} : {type: 'back'})}
				onAudit={requestId => dispatch({type: 'show', screen: {name: 'audit', requestId, back: entry}})}
				onHelp={place => dispatch({type: 'show', screen: {name: 'help', place, back: entry}})}
				onResult={onResult}
				onStatus={onStatus}
				fleet={fleet.agents}
			/>
		</Box>
	);
}

function HistoryLayer({core, state, dispatch, fleet, height, historyFilter, entry}: ConsoleBodyProps & {entry: HistoryEntry}) {
	const onFilter = useMemo(() => (filter: HistoryFilter, editing: boolean) => {
		historyFilter.current = filter;
		dispatch({type: 'history-searching', editing});
	}, [dispatch, historyFilter]);
	const agent = entry.filter?.agent;
	return (
		<HistoryScreen
			core={core}
			height={height}
			filter={entry.filter}
			onOpen={run => dispatch({type: 'open-run', targets: fleet.agents, past: run, history: {name: 'history', filter: historyFilter.current}})}
			onBack={() => dispatch(agent === undefined ? {type: 'back'} : {type: 'show', screen: {name: 'agent', agent}})}
			onHelp={() => dispatch({type: 'show', screen: {name: 'help', place: state.historySearching ? 'history-search' : 'history', back: {name: 'history', filter: historyFilter.current}}})}
			onFilter={onFilter}
		/>
	);
}

function AuditLayer({core, dispatch, height, width, entry}: ConsoleBodyProps & {entry: Extract<Screen, {name: 'audit'}>}) {
	return (
		<AuditScreen
			key={entry.requestId ?? ''}
			core={core}
			requestId={entry.requestId}
			height={height}
			width={width}
			onBack={() => dispatch({type: 'show', screen: entry.back})}
			onHelp={() => dispatch({type: 'show', screen: {name: 'help', place: entry.requestId === undefined ? 'audit' : 'audit-run', back: entry}})}
		/>
	);
}

function PairingLayer({core, state, dispatch, height, discover}: ConsoleBodyProps) {
	const shown = state.screen.name === 'pairing';
	const onPending = useMemo(() => (pending: number) => {
		dispatch({type: 'pairing-pending', pending});
	}, [dispatch]);
	return (
		<Box display={shown ? 'flex' : 'none'} flexDirection="column">
			<PairingScreen
				core={core}
				height={height}
				isActive={shown}
				onBack={() => {
					dispatch({type: 'close-pairing'});
					void discover(false);
				}}
				onKeep={() => {
					dispatch({type: 'back'});
					void discover(false);
				}}
				onPending={onPending}
			/>
		</Box>
	);
}

function ExtensionLayer({core, state, dispatch, height, width, now, entry}: ConsoleBodyProps & {entry: ExtensionEntry}) {
	const shown = state.screen.name === 'extension';
	const onStatus = useMemo(() => (status: ExtensionStatus) => {
		dispatch({type: 'extension-status', status});
	}, [dispatch]);
	return (
		<Box display={shown ? 'flex' : 'none'} flexDirection="column">
			<entry.extension.Screen
				core={core}
				height={height}
				width={width}
				now={now}
				isActive={shown}
				onBack={() => dispatch({type: 'back'})}
				onStatus={onStatus}
				onHelp={() => dispatch({type: 'show', screen: {name: 'help', place: 'help', extension: entry.extension, back: entry}})}
			/>
		</Box>
	);
}

function HelpLayer({state, extensions, entry}: ConsoleBodyProps & {entry: Extract<Screen, {name: 'help'}>}) {
	return entry.extension
		? <Help place={entry.place} rows={state.extensionStatus?.keys ?? entry.extension.keys} title={entry.extension.title}/>
		: <Help place={entry.place} more={entry.place === 'fleet' ? extensions.map(extension => extension.fleetRow) : []}/>;
}
