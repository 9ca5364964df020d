/**
 * A worker process hosting delaying proxies (delay-proxy.ts), one per route. Reports readiness
 * over IPC; asked `{take: true}`, it answers `{counts: [{listen, roundTrips}]}` with the round
 * trips of every connection that ended since it was last asked. Exits on SIGTERM, SIGINT or when
 * the bench goes away.
 *
 *   node --import=tsx bench/delay-host.ts INPUT.json     INPUT.json: {delayMs, routes: [{listen, target}]}
 */
import {readFileSync} from 'node:fs';
import {createDelayProxy, listenProxy, type DelayProxy, type ProxyRoute, type RouteCounts} from './delay-proxy.js';
import {announce, exitWhenAsked} from './host-protocol.js';

export type DelayHostInput = {delayMs: number; routes: ProxyRoute[]};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as DelayHostInput;
const proxies: Array<{route: ProxyRoute; proxy: DelayProxy}> = [];

process.on('message', (message: {take?: true}) => {
	if (message.take) {
		const counts: RouteCounts[] = proxies.map(({route, proxy}) => ({listen: route.listen, roundTrips: proxy.take()}));
		process.send?.({counts});
	}
});

exitWhenAsked(async () => {
	await Promise.all(proxies.map(({proxy}) => proxy.close()));
});

try {
	for (const route of input.routes) {
		const proxy = createDelayProxy(route, input.delayMs);
		await listenProxy(proxy, route.listen);
		proxies.push({route, proxy});
	}

	announce({ready: proxies.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
