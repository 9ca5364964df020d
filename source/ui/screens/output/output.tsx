/** One host's whole output: its badge in full (reasons wrap), the lines with stderr marked, a position, a search. */
import {Box, Text} from 'ink';
import type {AgentRunState} from '../../../run/run-state.js';
import {visible} from '../../../output/visible.js';
import {StatusBadge} from '../../components/status-badge.js';
import {theme} from '../../theme.js';
import {formatSeconds} from '../run/run.js';
import {viaText} from '../../../core/agents-view.js';
import type {OutputLine} from './output-lines.js';
import {topLine, type OutputState} from './use-output-state.js';

export function Output({agent, lines, state, height, width}: {agent: AgentRunState; lines: readonly OutputLine[]; state: OutputState; height: number; width: number}) {
	const rows = outputRows(agent, height, width);
	const top = topLine(state, lines.length, rows);
	const shown = lines.slice(top, top + rows);
	const position = lines.length === 0 ? 'no lines' : `lines ${top + 1}–${top + shown.length} of ${lines.length}${top + shown.length < lines.length ? ` · ${lines.length - top - shown.length} more ↓` : ''}`;
	return (
		<Box flexDirection="column">
			{/* One paragraph: beside each other as boxes, a long reason squeezed the name and cut the time into a column. */}
			<Text wrap="wrap">
				<Text bold>{visible(agent.name)}</Text>
				{'  '}
				<StatusBadge agent={agent} wrap="wrap"/>
				{agent.result ? <Text color={theme.dim}>{`  ${formatSeconds(agent.result.durationMs)}${viaText(agent.result.via)}`}</Text> : null}
			</Text>
			{shown.map((line, index) => (
				<Text key={top + index} wrap="truncate" color={line.stream === 'stderr' ? theme.warn : (line.stream === 'note' ? theme.dim : undefined)}>
					{line.stream === 'stderr' ? 'stderr│ ' : ''}{line.text}
				</Text>
			))}
			<Text color={theme.dim} wrap="truncate">
				{state.editing ? <Text color={theme.accent}>{`Search: ${state.search}`}</Text> : position}
				{state.notice ? `   ${state.notice}` : ''}
			</Text>
		</Box>
	);
}

/** The rows left for lines: less the host's line (a long reason wraps, so counted generously) and the position line. */
export function outputRows(agent: AgentRunState, height: number, width: number): number {
	const badge = visible(agent.name).length + 32 + agent.phase.length + visible(agent.result?.reason ?? '').length;
	return Math.max(1, height - Math.ceil(badge / Math.max(1, width)) - 1);
}
