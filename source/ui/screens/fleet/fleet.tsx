/** The fleet: a table of agents with their status, a live tag filter and a count. */
import {Box, Text} from 'ink';
import Spinner from 'ink-spinner';
import {visible} from '../../../output/visible.js';
import {formatTags} from '../../../policy/tags.js';
import {phaseColor, theme} from '../../theme.js';
import {fleetColumns} from './fleet-columns.js';
import {isDrifted, visibleAgents, type FleetAgent, type FleetState} from './use-fleet-state.js';

export type FleetProps = {state: FleetState; height: number; width: number};

export function Fleet({state, height, width}: FleetProps) {
	const shown = visibleAgents(state);
	const checking = state.agents.filter(agent => agent.status === 'checking').length;
	const rows = Math.max(1, height - 4);
	const start = Math.max(0, Math.min(state.cursor - Math.floor(rows / 2), shown.length - rows));
	const window = shown.slice(start, start + rows);
	const columns = fleetColumns(width, state.agents.map(agent => ({name: visible(agent.name), address: visible(agent.address), tags: tagsCell(agent)})));

	return (
		<Box flexDirection="column">
			<Box>
				<Text color={theme.accent}>{state.editingFilter ? 'Filter: ' : 'Filter (/): '}</Text>
				<Text>{state.filter}</Text>
				{state.editingFilter ? <Text inverse> </Text> : null}
				<Text color={theme.dim}>{`   ${shown.length} of ${state.agents.length} agents`}</Text>
				{checking > 0 ? (
					<Text color={theme.info}>
						{'   '}
						<Spinner type="dots"/>
						{` checking ${checking}`}
					</Text>
				) : null}
			</Box>
			<Text bold>
				{pad('NAME', columns.name)} {pad('ADDRESS', columns.address)} {pad('STATUS', columns.status)} {pad('SCRIPTS', columns.scripts)} {pad('EXPIRES', columns.expires)} TAGS
			</Text>
			{!state.loaded ? <Text color={theme.dim}>Loading the registry...</Text> : null}
			{state.loaded && state.agents.length === 0 ? <Text color={theme.dim}>No agents are paired yet. Press p to pair one.</Text> : null}
			{state.loaded && state.agents.length > 0 && shown.length === 0 ? <Text color={theme.dim}>No agent matches this filter. Esc clears it.</Text> : null}
			{window.map((agent, index) => {
				const selected = start + index === state.cursor;
				return (
					<Text key={agent.name} inverse={selected} wrap="truncate">
						{pad(visible(agent.name), columns.name)} {pad(visible(agent.address), columns.address)}{' '}
						<Text color={selected ? undefined : phaseColor(agent.status)}>{pad(agent.status, columns.status)}</Text>{' '}
						{pad(agent.status === 'reachable' ? String(agent.scripts.length) : '-', columns.scripts)} {pad(agent.certificateExpires.slice(0, 10), columns.expires)}{' '}
						{pad(tagsCell(agent), columns.tags)}
					</Text>
				);
			})}
		</Box>
	);
}

/** The registry's tags, marked first (long tags are cut at the end) when the agent's own differ; the agent screen shows how. */
function tagsCell(agent: FleetAgent): string {
	return (isDrifted(agent) ? '(drifted) ' : '') + visible(formatTags(agent.tags));
}

function pad(text: string, width: number): string {
	return text.length > width ? text.slice(0, width - 1) + '…' : text.padEnd(width);
}
