/**
 * A run screen as the console shell places it: its state and keys (use-run-state.ts, use-run.ts),
 * a run's events handed over on the console's frame clock, each result told to the fleet, and a
 * host's whole output (Enter) over it.
 */
import {useLayoutEffect, useMemo, useRef, useState} from 'react';
import type {StoredRun} from '../../../history/run-record.js';
import type {AgentResult} from '../../../run/events.js';
import type {ConsoleCore} from '../../core.js';
import {useBatched} from '../../frame-clock.js';
import type {KeyPlace} from '../../key-help.js';
import type {FleetAgent} from '../fleet/use-fleet-state.js';
import {storedRunState} from '../history/use-history-state.js';
import {OutputScreen} from '../output/output-screen.js';
import {firstNews} from './first-news.js';
import {Run, runPage, type RunTarget} from './run.js';
import {scriptChoices, type ScriptChoice} from './script-choices.js';
import {useRun} from './use-run.js';
import {useRunScreenState, type RunScreenAction, type RunScreenState} from './use-run-state.js';

/** What the run screen tells the console: its step (for the footer and help) and whether a run is going. */
export type RunStatus = {place: KeyPlace; going: boolean};

/** On these targets, or a past run from the history (shown finished; f reruns from it); `id` tells one screen from the next. */
export type RunEntry = {targets: FleetAgent[]; past?: StoredRun; id: number};

export type RunScreenProps = {
	core: ConsoleCore;
	entry: RunEntry;
	height: number;
	width: number;
	now: number;
	isActive: boolean;
	onBack: () => void;
	onAudit: (requestId: string) => void;
	onHelp: (place: KeyPlace) => void;
	onResult: (result: AgentResult) => void;
	onStatus: (status: RunStatus) => void;
	/** The fleet as it is now: what a confirmation says of its targets (a rerun's, after the run taught the fleet). */
	fleet: readonly FleetAgent[];
};

export function RunScreen({core, entry, height, width, now, isActive, onBack, onAudit, onHelp, onResult, onStatus, fleet}: RunScreenProps) {
	const {targets, past} = entry;
	const known = useMemo(() => {
		const names = new Set(targets.map(target => target.name));
		return fleet.filter(agent => names.has(agent.name));
	}, [fleet, targets]);
	const choices = useMemo(() => scriptChoices(targets), [targets]);
	const [state, dispatch] = useRunScreenState(choices, targets.map(target => target.name), past ? pastRunStep(past, choices) : undefined);
	const [viewing, setViewing] = useState<string | undefined>(undefined);
	// A run's events reach the screen on the console's clock: one frame for many output chunks;
	// its first output and first result at once.
	const news = useRef(firstNews()).current;
	const deliver = useBatched<RunScreenAction>(actions => {
		for (const action of actions) {
			if (action.type === 'event' && action.event.type === 'agent-finished') {
				onResult(action.event.result);
			}

			dispatch(action);
		}
	}, action => action.type === 'event' && news(action.event));
	useRun(state, action => {
		// The canary question comes in order after the canary's results, never before they are shown.
		if (action.type === 'event' || action.type === 'canary-asked') {
			deliver(action);
		} else {
			dispatch(action);
		}
	}, core, onBack, isActive && viewing === undefined, onAudit, setViewing, () => {
		onHelp(runPlace(state));
	}, runPage(state, height, width, now));
	const place = viewing === undefined ? runPlace(state) : 'output';
	const going = state.step === 'running' && !state.run.finished;
	useLayoutEffect(() => {
		onStatus({place, going});
	}, [onStatus, place, going]);
	const agent = viewing !== undefined && state.step === 'running' ? state.run.agents[viewing] : undefined;
	if (agent) {
		const live = state.step === 'running' && state.live && Object.hasOwn(state.live, agent.name) ? state.live[agent.name] : undefined;
		return <OutputScreen agent={agent} live={live} height={height} width={width} isActive={isActive} onBack={() => setViewing(undefined)} onHelp={onHelp}/>;
	}

	return <Run state={state} targets={known as readonly RunTarget[]} height={height} width={width} now={now}/>;
}

/** A past run as a finished running step: its script as the fleet offers it now (so f asks as a new run would). */
function pastRunStep(run: StoredRun, choices: readonly ScriptChoice[]): RunScreenState {
	const choice = choices.find(offered => offered.name === run.header.script)
		// Not offered by any reachable agent now: a rerun asks for the count, to be safe.
		?? {name: run.header.script, description: '', agents: [], confirm: true};
	const startedAt = Date.parse(run.header.startedAt);
	return {step: 'running', choice, args: [...run.header.args], requestId: run.header.requestId, run: storedRunState(run), startedAt, ...(run.endedAt ? {finishedAt: Date.parse(run.endedAt)} : {})};
}

export function runPlace(state: RunScreenState): KeyPlace {
	if (state.step === 'running') {
		return state.run.finished ? 'finished' : (state.canary ? 'canary' : 'running');
	}

	return state.step === 'confirm' && state.editing ? 'control' : state.step;
}
