/** A host's outcome in a few words, coloured by meaning; a spinner while it is still going. */
import {Text} from 'ink';
import Spinner from 'ink-spinner';
import type {AgentRunState} from '../../dispatch/run-state.js';
import {visible} from '../../output/visible.js';
import {phaseColor} from '../theme.js';

export function badgeText(agent: AgentRunState): string {
	const {phase, result} = agent;
	if (phase === 'failed' && result?.exitCode !== null && result?.exitCode !== undefined) {
		return `failed (exit ${result.exitCode})`;
	}

	if (result?.reason && phase !== 'ok' && phase !== 'failed') {
		return `${phase}: ${visible(result.reason)}`;
	}

	return phase;
}

export function StatusBadge({agent}: {agent: AgentRunState}) {
	const going = agent.phase === 'running' || agent.phase === 'connecting';
	return (
		<Text color={phaseColor(agent.phase)} wrap="truncate">
			{going ? <Spinner type="dots"/> : null}
			{going ? ' ' : ''}
			{badgeText(agent)}
		</Text>
	);
}
