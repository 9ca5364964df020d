/**
 * The run screen: pick a script (with how many targets have it), type its arguments, confirm the
 * targets, then one pane per host with its live output, a badge and a live summary. With more
 * hosts than fit, a compact list (one line each) with the selected host's output expanded.
 */
import {Box, Text} from 'ink';
import {countPhases, formatSummary, type AgentRunState} from '../../../dispatch/run-state.js';
import {visible, visibleLines} from '../../../output/visible.js';
import {StatusBadge} from '../../components/status-badge.js';
import {theme} from '../../theme.js';
import type {RunScreenState} from './use-run-state.js';
import {redactArgs, secretArgsOf, type SecretArgs} from '../../../protocol/secret-args.js';

export type RunProps = {state: RunScreenState; targetCount: number; height: number; width: number};

export function Run({state, targetCount, height, width}: RunProps) {
	switch (state.step) {
		case 'pick': {
			return (
				<Box flexDirection="column">
					<Text bold>Run a script on {targetCount} {targetCount === 1 ? 'agent' : 'agents'}: pick one</Text>
					{state.choices.length === 0 ? <Text color={theme.dim}>No reachable agent in this selection offers a script.</Text> : null}
					{state.choices.slice(0, Math.max(1, height - 3)).map((choice, index) => (
						<Text key={choice.name} inverse={index === state.cursor} wrap="truncate">
							{visible(choice.name).padEnd(18)} {`${choice.agents.length}/${targetCount}`.padEnd(8)} {visible(choice.description)}
						</Text>
					))}
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
			const names = state.targets.map(name => visible(name)).join(', ');
			return (
				<Box flexDirection="column">
					<Text bold>Run {visible(state.choice.name)}{formatArgs(redactArgs(state.args, secretArgsOf(state.choice.schema)))} on {state.targets.length} {state.targets.length === 1 ? 'agent' : 'agents'}?</Text>
					<Text wrap="truncate-end">{names.length > width * 3 ? `${names.slice(0, width * 3)}…` : names}</Text>
					{state.choice.confirm
						? <Text color={theme.warn}>{`This script asks for confirmation: type ${state.targets.length} (the number of targets), then Enter: ${state.typed}`}</Text>
						: <Text color={theme.accent}>Enter to run, Esc to go back.</Text>}
					{state.error ? <Text color={theme.bad}>{visible(state.error)}</Text> : null}
				</Box>
			);
		}

		case 'running': {
			return <RunPanes state={state} height={height} width={width}/>;
		}
	}
}

function RunPanes({state, height, width}: {state: Extract<RunScreenState, {step: 'running'}>; height: number; width: number}) {
	const agents = state.run.order.map(name => state.run.agents[name]!);
	const summary = formatSummary(countPhases(state.run)) || 'starting';
	// Every status at once is longer than 80 columns: the summary wraps, and the panes make room.
	const summaryLines = Math.max(1, Math.ceil((summary.length + (state.run.finished ? 11 : 0)) / Math.max(1, width)));
	const paneArea = Math.max(3, height - 1 - summaryLines);
	const gridFits = agents.length > 0 && agents.length <= 4 && Math.floor(paneArea / agents.length) >= 4;
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">
				{visible(state.choice.name)}{formatArgs(redactArgs(state.args, secretArgsOf(state.choice.schema)))}  <Text color={theme.dim}>request {state.requestId}</Text>
			</Text>
			<Text>{summary}{state.run.finished ? <Text color={theme.dim}>   finished</Text> : null}</Text>
			{gridFits
				? agents.map((agent, index) => <Pane key={agent.name} agent={agent} height={Math.floor(paneArea / agents.length)} selected={index === state.cursor}/>)
				: <CompactList agents={agents} cursor={state.cursor} height={paneArea} width={width}/>}
		</Box>
	);
}

function Pane({agent, height, selected}: {agent: AgentRunState; height: number; selected: boolean}) {
	const lines = tail(agent, height - 3);
	return (
		<Box flexDirection="column" borderStyle="round" borderColor={selected ? theme.accent : theme.dim} height={height} paddingX={1} overflow="hidden">
			<Box>
				<Text bold>{visible(agent.name)}  </Text>
				<StatusBadge agent={agent}/>
			</Box>
			{lines.map((line, index) => (
				<Text key={index} wrap="truncate">{line}</Text>
			))}
		</Box>
	);
}

function CompactList({agents, cursor, height, width}: {agents: AgentRunState[]; cursor: number; height: number; width: number}) {
	const listRows = Math.max(3, Math.floor(height / 2));
	const start = Math.max(0, Math.min(cursor - Math.floor(listRows / 2), agents.length - listRows));
	const selected = agents[cursor];
	const nameWidth = Math.min(16, Math.max(...agents.map(agent => agent.name.length)));
	return (
		<Box flexDirection="column">
			{agents.slice(start, start + listRows).map((agent, index) => (
				<Box key={agent.name}>
					<Text inverse={start + index === cursor}>{visible(agent.name).padEnd(nameWidth).slice(0, nameWidth)}</Text>
					<Text> </Text>
					<Box width={28}><StatusBadge agent={agent}/></Box>
					<Text color={theme.dim} wrap="truncate">{' ' + (tail(agent, 1)[0] ?? '').slice(0, Math.max(0, width - nameWidth - 31))}</Text>
				</Box>
			))}
			{selected ? (
				<Box flexDirection="column" borderStyle="round" borderColor={theme.accent} paddingX={1} height={Math.max(3, height - listRows)} overflow="hidden">
					{/* The badge again, in full: the list's column cuts a reason short. */}
					<Box>
						<Text bold>{visible(selected.name)}  </Text>
						<StatusBadge agent={selected}/>
					</Box>
					{tail(selected, Math.max(1, height - listRows - 3)).map((line, index) => (
						<Text key={index} wrap="truncate">{line}</Text>
					))}
				</Box>
			) : null}
		</Box>
	);
}

function tail(agent: AgentRunState, count: number): string[] {
	if (count <= 0) {
		return [];
	}

	const lines = visibleLines(agent.output.replace(/\n$/, ''));
	return (lines.length === 1 && lines[0] === '' ? [] : lines).slice(-count);
}

function formatArgs(args: readonly string[]): string {
	return args.length === 0 ? '' : ' ' + visible(JSON.stringify(args));
}

function hasSecretArgs(secret: SecretArgs): boolean {
	return secret.positions.length > 0 || Number.isFinite(secret.from);
}
