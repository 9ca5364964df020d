/** Colours by meaning; all undefined under NO_COLOR (https://no-color.org), so Ink prints plain text. */
import type {AgentPhase} from '../run/run-state.js';

const noColor = 'NO_COLOR' in process.env && process.env['NO_COLOR'] !== '';

const color = (name: string) => (noColor ? undefined : name);

export const theme = {
	accent: color('cyan'),
	dim: color('gray'),
	good: color('green'),
	bad: color('red'),
	warn: color('yellow'),
	info: color('blue'),
};

export function phaseColor(phase: AgentPhase | 'reachable' | 'unreachable' | 'checking'): string | undefined {
	switch (phase) {
		case 'ok':
		case 'reachable': {
			return theme.good;
		}

		case 'failed':
		case 'error':
		case 'unreachable': {
			return theme.bad;
		}

		case 'denied':
		case 'timeout':
		case 'cancelled': {
			return theme.warn;
		}

		case 'running':
		case 'connecting':
		case 'checking': {
			return theme.info;
		}

		default: {
			return theme.dim;
		}
	}
}
