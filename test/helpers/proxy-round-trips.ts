/** What the bench's delaying proxy saw, for tests that count a command's connections and round trips. */
import type {DelayProxy} from '../../bench/delay-proxy.js';
import {waitFor} from './fleet.js';

/** The round trips of each connection the proxy saw close since the last call, once at least `expected` have. */
export async function closedConnections(proxy: DelayProxy, expected: number): Promise<number[]> {
	const seen: number[] = [];
	await waitFor(() => {
		seen.push(...proxy.take());
		return seen.length >= expected ? true : undefined;
	}, `${expected} connections to close`);
	return seen;
}
