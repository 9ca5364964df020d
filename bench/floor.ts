/**
 * The floor's client: a bare loop of mutual-TLS connections (node:tls, the controller's own
 * certificate, at most `parallel` at once), each reading what the server's spawned script printed
 * until the server ends the connection. No protocol, no identity check beyond the CA chain.
 */
import {performance} from 'node:perf_hooks';
import {connect, type SecureContext} from 'node:tls';
import {mapLimited} from '../source/dispatch/pool.js';

export type FanOutTiming = {ms: number; ok: number; failures: string[]};

function oneConnection(host: string, port: number, context: SecureContext): Promise<string | undefined> {
	return new Promise(resolve => {
		let bytes = 0;
		const socket = connect({
			host,
			port,
			secureContext: context,
			minVersion: 'TLSv1.3',
			rejectUnauthorized: true,
			// The agent certificates name no host (one SAN URI); the chain to the fleet CA is still checked.
			checkServerIdentity: () => undefined,
		});
		socket.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
		});
		socket.on('error', (error: Error) => {
			resolve(`port ${port}: ${error.message}`);
		});
		socket.on('close', () => {
			resolve(bytes > 0 ? undefined : `port ${port}: no output`);
		});
	});
}

/** `host`: the floor's own loopback address (floorHost), or 127.0.0.1 for the delaying proxies in front of it. */
export async function floorFanOut(ports: readonly number[], context: SecureContext, parallel: number, host = '127.0.0.1'): Promise<FanOutTiming> {
	const started = performance.now();
	const outcomes = await mapLimited(ports, parallel, port => oneConnection(host, port, context));
	const ms = performance.now() - started;
	const failures = outcomes.filter((outcome): outcome is string => outcome !== undefined);
	return {ms, ok: outcomes.length - failures.length, failures};
}
