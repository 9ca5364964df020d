/**
 * The run screen: pick a script (with how many targets have it), type its arguments, confirm the
 * targets, then the run: a summary naming the hosts in trouble, and the hosts ordered by outcome
 * (run-layout.ts) — a grid of panes when they fit, else one line each with the selected host's
 * pane below, and "N more" wherever something is cut.
 */
import {Box, Text} from 'ink';
import {countPhases, type AgentRunState, type RunState} from '../../../run/run-state.js';
import {formatSummary} from '../../../output/run-summary.js';
import {visible, visibleLines} from '../../../output/visible.js';
import {redactArgs, secretArgsOf, type SecretArgs} from '../../../protocol/secret-args.js';
import {StatusBadge} from '../../components/status-badge.js';
import {theme} from '../../theme.js';
import {listWindow, outcomeOrder, runLayout, troubleSummary} from './run-layout.js';
import type {ScriptChoice} from './script-choices.js';
import {liveTail, type LiveLine} from './live-lines.js';
import {outputLines} from '../output/output-lines.js';
import type {ControlEdit, RunningStep, RunScreenState} from './use-run-state.js';
import {consoleRunDefaults, controlFields, describeControls, describeRollout} from './run-controls.js';
import {DryRunPlan} from './dry-run-plan.js';
import {noteLines, relayMark} from './result-notes.js';
import {foldNames} from '../../../run/group-output.js';

/** What the fleet knows of a target before the run: whether it answered, and what it offers. */
export type RunTarget = {name: string; status: string; reason?: string; scripts: ReadonlyArray<{name: string}>};

export type RunProps = {state: RunScreenState; targets: readonly RunTarget[]; height: number; width: number; now: number};

export function Run({state, targets, height, width, now}: RunProps) {
	switch (state.step) {
		case 'pick': {
			const reachable = targets.filter(target => target.status === 'reachable').length;
			const rows = Math.max(1, height - 3);
			const start = Math.max(0, Math.min(state.cursor - Math.floor(rows / 2), state.choices.length - rows));
			return (
				<Box flexDirection="column">
					<Text bold wrap="truncate">Run a script on {targets.length} {targets.length === 1 ? 'agent' : 'agents'}{reachable === targets.length ? '' : ` (${reachable} reachable)`}: pick one</Text>
					{state.choices.length === 0 ? <Text color={theme.dim}>No reachable agent in this selection offers a script.</Text> : null}
					{start > 0 ? <Text color={theme.dim}>{`↑ ${start} more`}</Text> : null}
					{state.choices.slice(start, start + rows).map((choice, index) => (
						<Text key={choice.name} inverse={start + index === state.cursor} wrap="truncate">
							{visible(choice.name).padEnd(18)} {`${choice.agents.length}/${targets.length}`.padEnd(8)} {limitsNote(choice)}{choice.problem === undefined ? visible(choice.description) : `refused: ${visible(choice.problem)}`}
						</Text>
					))}
					{start + rows < state.choices.length ? <Text color={theme.dim}>{`${state.choices.length - start - rows} more ↓`}</Text> : null}
				</Box>
			);
		}

		case 'args': {
			// A script with a secret argument: what is typed is not shown at all, as a password prompt does.
			const secret = hasSecretArgs(secretArgsOf(state.choice.schema));
			return (
				<Box flexDirection="column">
					<Text bold>{visible(state.choice.name)}: arguments</Text>
					<Text color={theme.dim}>Words separated by spaces, quotes for spaces inside one, or a JSON array. Nothing is expanded. Enter to go on.</Text>
					{state.choice.schema === undefined ? null : <Text color={theme.dim} wrap="truncate">{`Schema: ${visible(JSON.stringify(state.choice.schema))}`}</Text>}
					{secret ? <Text color={theme.warn}>This script takes a secret argument: what you type is hidden, and shown afterwards only as a hash.</Text> : null}
					<TooMany choice={state.choice} targets={state.targets.length}/>
					<Box>
						<Text color={theme.accent}>{'> '}</Text>
						<Text>{secret ? '•'.repeat([...state.text].length) : visible(state.text)}</Text>
						<Text inverse> </Text>
					</Box>
					{state.error ? <Text color={theme.bad}>{visible(state.error)}</Text> : null}
				</Box>
			);
		}

		case 'confirm': {
			// Every name while they fit on the line; else folded as `--group` prints them (`web[1-24],db[1-8]`).
			const plain = state.targets.map(name => visible(name)).join(', ');
			const names = plain.length <= width ? plain : visible(foldNames(state.targets));
			const notes = notExpectedToRun(state.choice, state.targets, targets);
			const tooMany = state.choice.maxTargets !== undefined && state.targets.length > state.choice.maxTargets;
			const rollout = `${describeRollout(state.controls, state.targets.length, consoleRunDefaults.parallel)}; ${state.controls.timeoutSeconds ?? consoleRunDefaults.timeoutSeconds} s a host`;
			const rolloutLines = linesOf(`Rollout: ${rollout}`, width);
			// Wrapped whole: a reason is never cut.
			const notesLine = notes.length > 0 ? `Not expected to run (each is reported with its state): ${notes.join(' · ')}` : '';
			const used = 3 + rolloutLines + linesOf(notesLine, width) + (tooMany ? 1 : 0) + (state.editing ? 1 + linesOf(state.editing.error ?? '', width) : 0) + (state.error ? 1 : 0);
			return (
				<Box flexDirection="column">
					<Text bold>Run {visible(state.choice.name)}{formatArgs(redactArgs(state.args, secretArgsOf(state.choice.schema)))} on {state.targets.length} {state.targets.length === 1 ? 'agent' : 'agents'}?</Text>
					<Text wrap="truncate-end">{names}</Text>
					{notes.length > 0 ? <Text color={theme.warn}>{notesLine}</Text> : null}
					<TooMany choice={state.choice} targets={state.targets.length}/>
					<Text><Text color={theme.dim}>Rollout: </Text>{rollout}</Text>
					{state.editing ? <ControlInput editing={state.editing}/> : null}
					{state.choice.confirm
						? <Text color={theme.warn}>{`This script asks for confirmation: type ${state.targets.length} (the number of targets), then Enter: ${state.typed}`}</Text>
						: <Text color={theme.accent}>{state.previous ? 'Enter to run, Esc back to the results.' : 'Enter to run, Esc to go back.'}</Text>}
					{state.error ? <Text color={theme.bad}>{visible(state.error)}</Text> : null}
					{state.dryRun ? <DryRunPlan dryRun={state.dryRun} controls={state.controls} rows={height - used} width={width}/> : null}
				</Box>
			);
		}

		case 'running': {
			return <RunPanes state={state} height={height} width={width} now={now}/>;
		}
	}
}

/** The control being typed: its flag, what it takes, the text and a cursor; what is wrong with it below. */
function ControlInput({editing}: {editing: ControlEdit}) {
	const field = controlFields[editing.field];
	return (
		<Box flexDirection="column">
			<Box>
				<Text color={theme.accent}>{`--${field.flag} (${field.takes}; empty: none): `}</Text>
				<Text>{editing.text}</Text>
				<Text inverse> </Text>
			</Box>
			{editing.error ? <Text color={theme.bad}>{visible(editing.error)}</Text> : null}
		</Box>
	);
}

/** Lines a text takes wrapped at `width` (about: Ink wraps at words). */
function linesOf(text: string, width: number): number {
	return Math.ceil([...text].length / Math.max(1, width));
}

function limitsNote(choice: ScriptChoice): string {
	const notes = [choice.confirm ? 'confirm' : '', choice.maxTargets === undefined ? '' : `at most ${choice.maxTargets}`].filter(Boolean);
	return notes.length === 0 ? '' : `(${notes.join(', ')}) `;
}

/** Said before anything is typed: a selection wider than the script's maxTargets will be refused. */
function TooMany({choice, targets}: {choice: ScriptChoice; targets: number}) {
	return choice.maxTargets !== undefined && targets > choice.maxTargets
		? <Text color={theme.bad}>{`${visible(choice.name)} allows at most ${choice.maxTargets} targets (maxTargets in its allowlist entry); this selection has ${targets}: narrow the filter`}</Text>
		: null;
}

/** Targets the fleet already knows will not run the script: unreachable, or without it. */
function notExpectedToRun(choice: ScriptChoice, names: readonly string[], targets: readonly RunTarget[]): string[] {
	const byName = new Map(targets.map(target => [target.name, target]));
	return names.flatMap(name => {
		const target = byName.get(name);
		if (!target || target.status === 'checking') {
			return [];
		}

		if (target.status !== 'reachable') {
			return [`${visible(name)} ${target.status}${target.reason ? ` (${visible(target.reason)})` : ''}`];
		}

		return target.scripts.some(script => script.name === choice.name) ? [] : [`${visible(name)} has no ${visible(choice.name)}`];
	});
}

/** The running screen's lines above the hosts, and where the hosts go below them. */
function panesLayout(state: RunningStep, height: number, width: number, now: number) {
	const summary = formatSummary(countPhases(state.run)) || 'starting';
	const trouble = troubleSummary(state.run);
	const elapsed = formatSeconds((state.run.finished ? state.finishedAt ?? now : now) - state.startedAt);
	const controls = describeControls(state.controls ?? {});
	const status = `${summary}   ${state.run.finished ? `finished in ${elapsed}` : elapsed}${controls === '' ? '' : ` · ${controls}`}`;
	// Every status at once is longer than 80 columns: the summary wraps, and the panes make room.
	const summaryLines = Math.max(1, Math.ceil(status.length / Math.max(1, width)));
	const fixedLines = 1 + summaryLines + (trouble === '' ? 0 : 1) + (state.notice ? 1 : 0) + (state.canary ? 1 : 0);
	const hostsHeight = Math.max(3, height - fixedLines);
	return {summary, trouble, status, hostsHeight, layout: runLayout(state.run.order.length, width, hostsHeight)};
}

/** How many hosts the running screen shows at once: what PgUp and PgDn move by. */
export function runPage(state: RunScreenState, height: number, width: number, now: number): number {
	if (state.step !== 'running') {
		return Math.max(1, height - 3);
	}

	const {layout} = panesLayout(state, height, width, now);
	// A list cut at both ends spends two of its lines on the counts.
	return layout.kind === 'grid' ? state.run.order.length : Math.max(1, (layout.listRows * layout.columns) - 2);
}

function RunPanes({state, height, width, now}: {state: RunningStep; height: number; width: number; now: number}) {
	const {summary, trouble, status, hostsHeight} = panesLayout(state, height, width, now);
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">
				{visible(state.choice.name)}{formatArgs(redactArgs(state.args, secretArgsOf(state.choice.schema)))}  <Text color={theme.dim}>request {state.requestId}</Text>
			</Text>
			<Text>{summary}<Text color={theme.dim}>{status.slice(summary.length)}</Text></Text>
			{trouble === '' ? null : <Text color={theme.bad} wrap="truncate-end">{trouble}</Text>}
			{state.notice ? <Text color={theme.warn}>{state.notice}</Text> : null}
			{state.canary ? <Text bold color={theme.warn} wrap="truncate-end">{canaryQuestion(state.canary)}</Text> : null}
			<HostPanes run={state.run} live={state.live} selected={state.selected} height={hostsHeight} width={width}/>
		</Box>
	);
}

/**
 * A run's hosts ordered by outcome in `height` lines: a grid of panes when they fit, else one line
 * each (in columns, "N more" where cut) with the selected host's pane below. The run screen and
 * each step of a runbook show their hosts with it.
 */
export function HostPanes({run, live, selected, height, width}: {run: RunState; live: Readonly<Record<string, LiveLine[]>> | undefined; selected: string | undefined; height: number; width: number}) {
	const agents = outcomeOrder(run);
	const layout = runLayout(run.order.length, width, Math.max(3, height));
	const selectedIndex = Math.max(0, agents.findIndex(agent => agent.name === selected));
	const liveOf = (name: string) => (live && Object.hasOwn(live, name) ? live[name] : undefined);
	return layout.kind === 'grid' ? (
		<Box flexDirection="column">
			{chunk(agents, layout.columns).map(row => (
				<Box key={row[0]!.name}>
					{row.map(agent => <Pane key={agent.name} agent={agent} live={liveOf(agent.name)} height={layout.paneRows} width={layout.columnWidth} selected={agent.name === agents[selectedIndex]?.name}/>)}
				</Box>
			))}
		</Box>
	) : (
		<Box flexDirection="column">
			<HostList agents={agents} live={live} selected={selectedIndex} columns={layout.columns} columnWidth={layout.columnWidth} rows={layout.listRows}/>
			{agents[selectedIndex] ? <Pane agent={agents[selectedIndex]} live={liveOf(agents[selectedIndex].name)} height={layout.paneRows} width={width} selected expanded/> : null}
		</Box>
	);
}

export function canaryQuestion(canary: {hosts: number; rest: number}): string {
	return `The ${canary.hosts} canary ${canary.hosts === 1 ? 'host is' : 'hosts are'} ok: run on the other ${canary.rest}? y goes on · n stops here`;
}

function Pane({agent, live, height, width, selected, expanded = false}: {agent: AgentRunState; live: readonly LiveLine[] | undefined; height: number; width: number; selected: boolean; expanded?: boolean}) {
	const via = relayMark(agent.result);
	// A reason wraps (in full in the expanded pane; in a grid's pane over the lines its output does
	// not need, keeping one for output when there is some); the badge's lines come out of the output's.
	const wrapped = expanded || agent.result?.reason !== undefined;
	// A grid's pane wraps the badge beside the name and the time: in that narrower column, words broken whole.
	const column = Math.max(8, width - 4 - visible(agent.name).length - 2 - 8 - via.length);
	const wanted = expanded
		? Math.max(1, Math.ceil((visible(agent.name).length + 4 + badgeLength(agent) + via.length) / Math.max(1, width - 4)))
		: Math.ceil(badgeLength(agent) / column) + 1;
	const hasOutput = (live?.length ?? 0) > 0 || (agent.result !== undefined && `${agent.result.stdout}${agent.result.stderr}` !== '');
	const badgeLines = expanded ? wanted : (wrapped ? Math.max(1, Math.min(wanted, height - 2 - (hasOutput ? 1 : 0))) : 1);
	const room = height - 2 - badgeLines;
	const notes = paneNotes(noteLines(agent.result), room);
	const lines = tail(agent, live, room - notes.length);
	return (
		<Box flexDirection="column" borderStyle="round" borderColor={selected ? theme.accent : theme.dim} height={height} width={width} paddingX={1} overflow="hidden">
			<Box>
				<Box flexShrink={0}><Text bold>{visible(agent.name)}  </Text></Box>
				<Box height={badgeLines} overflow="hidden"><StatusBadge agent={agent} wrap={wrapped ? 'wrap' : 'truncate'}/></Box>
				{agent.result && !expanded ? <Box flexShrink={0}><Text color={theme.dim}>{`  ${formatSeconds(agent.result.durationMs)}${via}`}</Text></Box> : null}
				{expanded && via !== '' ? <Box flexShrink={0}><Text color={theme.dim}>{via}</Text></Box> : null}
			</Box>
			{lines.map((line, index) => (
				<PaneText key={index} line={line}/>
			))}
			{notes.map((note, index) => (
				<Text key={`note${index}`} color={theme.info} wrap="truncate">{note}</Text>
			))}
		</Box>
	);
}

/**
 * A pane's notes below its output: at most half its lines while it has output to show (all of
 * them when they fit), the last one saying how many more the output view (Enter) has.
 */
function paneNotes(notes: readonly string[], room: number): string[] {
	const rows = Math.min(notes.length, Math.max(0, room > 1 ? Math.max(1, Math.floor(room / 2)) : room));
	if (rows >= notes.length) {
		return [...notes];
	}

	const rest = notes.length - rows + 1;
	return rows === 0 ? [] : [...notes.slice(0, rows - 1), `~ ${rest} ${rows === 1 ? '' : 'more '}notes: Enter shows them`];
}

function badgeLength(agent: AgentRunState): number {
	return 2 + (agent.result?.reason ? agent.phase.length + 2 + visible(agent.result.reason).length : 20);
}

/** One line per host, in columns (column after column), with "N more" where the list is cut. */
function HostList({agents, live, selected, columns, columnWidth, rows}: {agents: AgentRunState[]; live: Readonly<Record<string, LiveLine[]>> | undefined; selected: number; columns: number; columnWidth: number; rows: number}) {
	const window = listWindow(agents.length, selected, rows * columns);
	const entries: Array<{agent: AgentRunState; index: number} | {more: string}> = [
		...(window.above > 0 ? [{more: `↑ ${window.above} more`}] : []),
		...agents.slice(window.start, window.end).map((agent, offset) => ({agent, index: window.start + offset})),
		...(window.below > 0 ? [{more: `${window.below} more ↓`}] : []),
	];
	const nameWidth = Math.min(16, Math.max(4, ...agents.map(agent => visible(agent.name).length)));
	// Wide columns have room for each host's last line; narrow ones give it to the badge.
	const withOutput = columnWidth >= 60;
	const badgeWidth = withOutput ? 30 : Math.max(8, columnWidth - nameWidth - 2);
	// A narrow row marks a host with notes with `~` (its pane and the output view say them).
	const noted = (agent: AgentRunState) => !withOutput && (agent.result?.notes?.length ?? 0) > 0;
	return (
		<Box>
			{chunk(entries, rows).map((column, columnIndex) => (
				<Box key={columnIndex} flexDirection="column" width={columnWidth}>
					{column.map(entry => ('more' in entry
						? <Text key={entry.more} color={theme.dim}>{entry.more}</Text>
						: (
							<Box key={entry.agent.name} width={columnWidth - 1}>
								<Box flexShrink={0} width={nameWidth + 1}><Text inverse={entry.index === selected}>{visible(entry.agent.name).padEnd(nameWidth).slice(0, nameWidth)}</Text></Box>
								<Box flexShrink={0} width={badgeWidth - (noted(entry.agent) ? 2 : 0)}><StatusBadge agent={entry.agent}/></Box>
								{withOutput ? <RowTail agent={entry.agent} live={live && Object.hasOwn(live, entry.agent.name) ? live[entry.agent.name] : undefined}/> : null}
								{noted(entry.agent) ? <Box flexShrink={0}><Text color={theme.info}> ~</Text></Box> : null}
							</Box>
						)))}
				</Box>
			))}
		</Box>
	);
}

/** A host's row after its badge: its first note when it has one (what the CLI prints as `NAME ~ note`), else its last line. */
function RowTail({agent, live}: {agent: AgentRunState; live: readonly LiveLine[] | undefined}) {
	const [note] = noteLines(agent.result);
	return note === undefined
		? <Text color={theme.dim} wrap="truncate">{' ' + (tail(agent, live, 1)[0]?.text ?? '')}</Text>
		: <Text color={theme.info} wrap="truncate">{' ' + note}</Text>;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
	const chunks: T[][] = [];
	for (let index = 0; index < items.length; index += Math.max(1, size)) {
		chunks.push(items.slice(index, index + Math.max(1, size)));
	}

	return chunks;
}

type PaneLine = {stream: 'stdout' | 'stderr' | 'note'; text: string};

/** A host's last lines: as they came (stderr marked) during a live run, else from its result (a past run: stdout, then stderr). */
function tail(agent: AgentRunState, live: readonly LiveLine[] | undefined, count: number): PaneLine[] {
	if (count <= 0) {
		return [];
	}

	if (live && live.length > 0) {
		return liveTail(live, count);
	}

	if (agent.result) {
		return outputLines(agent).filter(line => line.stream !== 'note').slice(-count);
	}

	const lines = visibleLines(agent.output.replace(/\n$/, ''));
	return (lines.length === 1 && lines[0] === '' ? [] : lines).slice(-count).map(text => ({stream: 'stdout', text}));
}

/** A pane's line: stderr marked as the output view marks it, so it never passes for stdout. */
function PaneText({line}: {line: PaneLine}) {
	return line.stream === 'stderr'
		? <Text wrap="truncate"><Text color={theme.warn}>stderr│ </Text>{line.text}</Text>
		: <Text wrap="truncate">{line.text}</Text>;
}

export function formatSeconds(milliseconds: number): string {
	const seconds = Math.max(0, milliseconds) / 1000;
	return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function formatArgs(args: readonly string[]): string {
	return args.length === 0 ? '' : ' ' + visible(JSON.stringify(args));
}

function hasSecretArgs(secret: SecretArgs): boolean {
	return secret.positions.length > 0 || Number.isFinite(secret.from);
}
