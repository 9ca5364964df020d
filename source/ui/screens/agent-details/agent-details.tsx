/** One agent: where it is, its certificate, its tags, and the scripts it offers (a table). */
import {Table} from '@alcalzone/ink-table';
import {Box, Text} from 'ink';
import {visible} from '../../../output/visible.js';
import {describeDrift, formatTags} from '../../../policy/tags.js';
import {phaseColor, theme} from '../../theme.js';
import {seenText} from '../../../core/agents-view.js';
import type {FleetAgent} from '../fleet/use-fleet-state.js';

export function AgentDetails({agent, height, now}: {agent: FleetAgent; height: number; now: number}) {
	const rows = agent.scripts.slice(0, Math.max(1, Math.floor((height - 9 - (agent.drifted ? 1 : 0)) / 2))).map(script => ({
		script: visible(script.name),
		timeout: `${script.timeoutSeconds} s`,
		description: visible(script.description).slice(0, 40),
	}));
	return (
		<Box flexDirection="column">
			<Text bold>{visible(agent.name)}  <Text color={phaseColor(agent.status)}>{agent.status}</Text><Text color={theme.dim}>{`  ${seenText(agent, new Date(now))}`}</Text></Text>
			<Text>address {visible(agent.address)}{agent.transport && agent.transport !== 'tls' ? `   transport ${agent.transport}` : ''}   certificate expires {agent.certificateExpires.slice(0, 10)}</Text>
			<Text>tags {visible(formatTags(agent.tags)) || '(none)'}</Text>
			{agent.drifted && agent.reportedTags ? <Text color={theme.warn} wrap="truncate">{`drifted: its own tags say ${visible(describeDrift(agent.tags, agent.reportedTags))}`}</Text> : null}
			{agent.reason ? <Text color={theme.bad} wrap="truncate">{visible(agent.reason)}</Text> : null}
			{rows.length > 0 ? <Table data={rows}/> : <Text color={theme.dim}>{agent.status === 'reachable' ? 'No scripts on its allowlist.' : 'Scripts are known once the agent answers.'}</Text>}
			{agent.scripts.length > rows.length ? <Text color={theme.dim}>{`and ${agent.scripts.length - rows.length} more`}</Text> : null}
		</Box>
	);
}
