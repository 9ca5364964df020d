/**
 * A host's outcome in a few words, coloured by meaning and marked by a symbol (so a glance works
 * without colour, NO_COLOR); a spinner while it is still going.
 */
import {Text} from 'ink';
import {Spinner} from '../frame-clock.js';
import type {AgentPhase, AgentRunState} from '../../run/run-state.js';
import {visible} from '../../output/visible.js';
import {phaseColor} from '../theme.js';

export const phaseSymbol: Record<AgentPhase, string> = {
	ok: '✓', failed: '✗', timeout: '⧖', unreachable: '⊘', denied: '⊝', error: '!', cancelled: '■', skipped: '↷', running: '', connecting: '', queued: '·',
};

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

/** `wrap`: the list cuts a long reason at its column; the expanded pane wraps it whole. */
export function StatusBadge({agent, wrap = 'truncate'}: {agent: AgentRunState; wrap?: 'truncate' | 'wrap'}) {
	const going = agent.phase === 'running' || agent.phase === 'connecting';
	return (
		<Text color={phaseColor(agent.phase)} wrap={wrap}>
			{going ? <Spinner/> : phaseSymbol[agent.phase]}
			{' '}
			{badgeText(agent)}
		</Text>
	);
}
