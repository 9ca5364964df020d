/**
 * The floor's client: a bare loop of mutual-TLS connections (node:tls, the controller's own
 * certificate, at most `parallel` at once), each reading what the server's spawned script printed
 * until the server ends the connection. No protocol, no identity check beyond the CA chain.
 */
import {performance} from 'node:perf_hooks';
import {connect, type SecureContext} from 'node:tls';
import {mapLimited} from '../source/dispatch/pool.js';

/** `doneMs`: when each host finished, in ms from the start, in the order they finished (where the wall time went: a slow tail or a slow middle). */
export type FanOutTiming = {ms: number; ok: number; failures: string[]; doneMs?: number[]};

/** When half, 90 %, 99 % and all of the hosts had finished: "50% 1.2 s, 90% 2.0 s, 99% 2.3 s, all 9.8 s". */
export function timeline(doneMs: readonly number[]): string {
	const at = (share: number) => doneMs[Math.max(0, Math.ceil(share * doneMs.length) - 1)] ?? Number.NaN;
	return [0.5, 0.9, 0.99].map(share => `${share * 100}% ${(at(share) / 1000).toFixed(1)} s`).concat(`all ${(at(1) / 1000).toFixed(1)} s`).join(', ');
}

function oneConnection(host: string, port: number, context: SecureContext, request: string | undefined): Promise<string | undefined> {
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
		// Node reads the detailed certificate chain (300 µs) only to hand it to checkServerIdentity,
		// which reads nothing here: the floor skips it, as the dispatcher's dialAgent reads the leaf alone.
		socket.getPeerCertificate = (() => ({})) as typeof socket.getPeerCertificate;
		if (request !== undefined) {
			socket.on('secureConnect', () => socket.write(request));
		}

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

/**
 * `host`: the floor's own loopback address (floorHost), or 127.0.0.1 for the delaying proxies in
 * front of it. `request`: a line written on each connection once it is secure (for bare hosts that
 * answer as an agent does, bare-host.ts `protocol`).
 */
export async function floorFanOut(ports: readonly number[], context: SecureContext, parallel: number, host = '127.0.0.1', request?: string): Promise<FanOutTiming> {
	const started = performance.now();
	const doneMs: number[] = [];
	const outcomes = await mapLimited(ports, parallel, async port => {
		const outcome = await oneConnection(host, port, context, request);
		doneMs.push(performance.now() - started);
		return outcome;
	});
	const ms = performance.now() - started;
	const failures = outcomes.filter((outcome): outcome is string => outcome !== undefined);
	return {ms, ok: outcomes.length - failures.length, failures, doneMs};
}
