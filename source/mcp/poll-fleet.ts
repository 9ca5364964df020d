/**
 * Looks at the fleet every `pollSeconds` for the sessions open now: each session compares the
 * tools its token would see with what it last listed and sends `tools/list_changed` when they
 * differ (an agent joined or left, an allowlist changed, the token was revoked or changed). One
 * look at a time; discovery answers are shared through the discovery cache.
 */
import type {McpSession} from './session.js';

export function pollFleet(sessions: () => Iterable<McpSession>, pollSeconds: number, log: (line: string) => void): {stop: () => void} {
	let busy = false;
	const timer = setInterval(() => {
		if (busy) {
			return;
		}

		busy = true;
		void Promise.allSettled([...sessions()].map(async session => session.checkForChanges()))
			.then(results => {
				for (const result of results) {
					if (result.status === 'rejected') {
						log(`looking at the fleet for changes failed: ${(result.reason as Error).message}`);
					}
				}
			})
			.finally(() => {
				busy = false;
			});
	}, pollSeconds * 1000);
	timer.unref();
	return {stop: () => clearInterval(timer)};
}
