/**
 * The console: the fleet, an agent's details, a run, pairing, the audit trail, and help. It composes screens and
 * holds which one is shown; every socket and process is behind the ConsoleCore port.
 */
import {Box, Text, useApp, useInput, useStdout} from 'ink';
import {useCallback, useEffect, useMemo, useState} from 'react';
import type {ConsoleCore} from './core.js';
import {Help} from './components/help.js';
import {Audit, auditRows} from './screens/audit/audit.js';
import {useAudit} from './screens/audit/use-audit.js';
import {useAuditState} from './screens/audit/use-audit-state.js';
import {AgentDetails} from './screens/agent-details/agent-details.js';
import {Fleet} from './screens/fleet/fleet.js';
import {useFleet} from './screens/fleet/use-fleet.js';
import {selectedAgent, useFleetState, visibleAgents, type FleetAgent} from './screens/fleet/use-fleet-state.js';
import {Pairing} from './screens/pairing/pairing.js';
import {usePairing} from './screens/pairing/use-pairing.js';
import {usePairingState} from './screens/pairing/use-pairing-state.js';
import {Run} from './screens/run/run.js';
import {scriptChoices} from './screens/run/script-choices.js';
import {useRun} from './screens/run/use-run.js';
import {useRunScreenState} from './screens/run/use-run-state.js';
import {theme} from './theme.js';
import {KeysProvider, useKeys} from './keys.js';

type RunScreenEntry = {name: 'run'; targets: FleetAgent[]};
type Screen = {name: 'fleet'} | {name: 'agent'; agent: string} | RunScreenEntry | {name: 'pairing'} | {name: 'audit'; requestId?: string; back: Screen} | {name: 'help'; back: Screen};

export type AppProps = {core: ConsoleCore; title?: string};

export function App(props: AppProps) {
	return (
		<KeysProvider>
			<Console {...props}/>
		</KeysProvider>
	);
}

function Console({core, title = 'xi-exec'}: AppProps) {
	const {exit} = useApp();
	const {stdout} = useStdout();
	const [size, setSize] = useState({rows: stdout.rows || 24, columns: stdout.columns || 80});
	useEffect(() => {
		const onResize = () => setSize({rows: stdout.rows || 24, columns: stdout.columns || 80});
		stdout.on('resize', onResize);
		// Read it again now: a resize between the first render and this subscription is not missed.
		onResize();
		return () => {
			stdout.off('resize', onResize);
		};
	}, [stdout]);

	const [screen, setScreen] = useState<Screen>({name: 'fleet'});
	const [fleet, dispatchFleet] = useFleetState();

	const discover = useCallback(async () => {
		const agents = await core.loadAgents();
		dispatchFleet({type: 'agents-loaded', agents});
		await core.discover(agents, found => {
			dispatchFleet({type: 'agent-discovered', found});
		});
	}, [core, dispatchFleet]);
	useEffect(() => {
		void discover();
	}, [discover]);

	const back = useCallback(() => {
		setScreen({name: 'fleet'});
	}, []);
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
			setScreen({name: 'run', targets: visibleAgents(fleet)});
		},
		onPair() {
			setScreen({name: 'pairing'});
		},
		onRefresh() {
			void discover();
		},
		onAudit() {
			setScreen({name: 'audit', back: {name: 'fleet'}});
		},
		onHelp() {
			setScreen({name: 'help', back: {name: 'fleet'}});
		},
		onQuit: exit,
	}, screen.name === 'fleet');

	useKeys((input, key) => {
		if (screen.name === 'help') {
			setScreen(screen.back);
		} else if (screen.name === 'agent' && (key.escape || input === 'q' || key.return)) {
			back();
		} else if (screen.name === 'agent' && input === '?') {
			setScreen({name: 'help', back: screen});
		}
	}, screen.name === 'help' || screen.name === 'agent');

	useInput((input, key) => {
		if (key.ctrl && input === 'c') {
			exit();
		}
	});

	const detailsAgent = screen.name === 'agent' ? fleet.agents.find(agent => agent.name === screen.agent) : undefined;
	// A run's audit records are shown over the run, which stays as it was for Esc to come back to.
	const runEntry = screen.name === 'run' ? screen : screen.name === 'audit' && screen.back.name === 'run' ? screen.back : undefined;
	return (
		<Box flexDirection="column" width={size.columns} height={size.rows - 1}>
			<Box justifyContent="space-between">
				<Text bold color={theme.accent}>{title}</Text>
				<Text color={theme.dim}>{screenTitle(screen)}</Text>
			</Box>
			<Box flexDirection="column" flexGrow={1}>
				{screen.name === 'fleet' ? <Fleet state={fleet} height={bodyHeight} width={size.columns}/> : null}
				{screen.name === 'agent' && detailsAgent ? <AgentDetails agent={detailsAgent} height={bodyHeight}/> : null}
				{runEntry ? (
					<Box display={screen.name === 'run' ? 'flex' : 'none'} flexDirection="column">
						<RunScreen core={core} targets={runEntry.targets} height={bodyHeight} width={size.columns} isActive={screen.name === 'run'} onBack={back} onAudit={requestId => {
							setScreen({name: 'audit', requestId, back: runEntry});
						}}/>
					</Box>
				) : null}
				{screen.name === 'audit' ? <AuditScreen key={screen.requestId ?? ''} core={core} requestId={screen.requestId} height={bodyHeight} width={size.columns} onBack={() => {
					setScreen(screen.back);
				}} onHelp={() => {
					setScreen({name: 'help', back: screen});
				}}/> : null}
				{screen.name === 'pairing' ? <PairingScreen core={core} height={bodyHeight} onBack={() => {
					back();
					void discover();
				}}/> : null}
				{screen.name === 'help' ? <Help/> : null}
			</Box>
			<Text color={theme.dim} wrap="truncate">{keyHints(screen)}</Text>
		</Box>
	);
}

function RunScreen({core, targets, height, width, isActive, onBack, onAudit}: {core: ConsoleCore; targets: FleetAgent[]; height: number; width: number; isActive: boolean; onBack: () => void; onAudit: (requestId: string) => void}) {
	const choices = useMemo(() => scriptChoices(targets), [targets]);
	const [state, dispatch] = useRunScreenState(choices);
	useRun(state, dispatch, core, onBack, isActive, onAudit);
	return <Run state={state} targetCount={targets.length} height={height} width={width}/>;
}

function PairingScreen({core, height, onBack}: {core: ConsoleCore; height: number; onBack: () => void}) {
	const [state, dispatch] = usePairingState();
	usePairing(state, dispatch, core, onBack, true);
	return <Pairing state={state} height={height}/>;
}

function AuditScreen({core, requestId, height, width, onBack, onHelp}: {core: ConsoleCore; requestId: string | undefined; height: number; width: number; onBack: () => void; onHelp: () => void}) {
	const [state, dispatch] = useAuditState(requestId);
	useAudit(state, dispatch, core, {onBack, onHelp, rows: auditRows(height, state)}, true);
	return <Audit state={state} height={height} width={width}/>;
}

function screenTitle(screen: Screen): string {
	return {fleet: 'fleet', agent: 'agent', run: 'run', pairing: 'pairing', audit: 'audit', help: 'help'}[screen.name];
}

function keyHints(screen: Screen): string {
	switch (screen.name) {
		case 'fleet': {
			// Fits 80 columns; every key (g included) is on the help screen.
			return '↑↓ move · / filter · Enter details · r run · p pair · a audit · ? help · q quit';
		}

		case 'agent': {
			return 'Esc back · ? help · Ctrl-C quit';
		}

		case 'run': {
			return '↑↓ host · c cancel · f rerun not-ok hosts · Esc back when done · Ctrl-C quit';
		}

		case 'pairing': {
			return '↑↓ select request · type the agent\'s code, Enter approves · x reject · Esc back';
		}

		case 'audit': {
			return screen.requestId === undefined ? '↑↓ scroll · g read again · ? help · Esc back' : '↑↓ scroll · g read again · A all requests · ? help · Esc back';
		}

		case 'help': {
			return 'any key: back';
		}
	}
}
