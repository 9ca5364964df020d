/**
 * What reading the controller's certificate costs the agent at each connection: the bench fleet's
 * own certificates (the agent's server credentials, the controller's client credentials), a real
 * mutual TLS handshake per connection, and the one call the agent makes on it (serve-connection.ts)
 * timed alone — `getPeerCertificate().raw` and `getPeerX509Certificate().raw`, alternating
 * connection by connection. CPU of the call (process.cpuUsage), in µs, medians and quartiles;
 * both must give the same DER.
 *
 *   node --import=tsx bench/agent-peer-certificate.ts     BENCH_RUNS (400) connections
 */
import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {connect, createServer, type TLSSocket} from 'node:tls';
import {agentPaths} from '../agent/home.js';
import {runBench, trackPath} from './cleanup.js';
import {loadAverage, machine} from './environment.js';
import {createFleet} from './fleet.js';
import {median} from './processes.js';

const log = (text: string) => process.stderr.write(`agent-peer-certificate: ${text}\n`);

const ways = {
	'getPeerCertificate().raw': (socket: TLSSocket) => socket.getPeerCertificate().raw,
	'getPeerX509Certificate().raw': (socket: TLSSocket) => socket.getPeerX509Certificate()!.raw,
} as const;
type Way = keyof typeof ways;

async function main(): Promise<number> {
	const connections = Number(process.env['BENCH_RUNS'] ?? 400);
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-agent-peer-')));
	const fleet = await createFleet(join(root, 'fleet'), 1, 1, log);
	const paths = agentPaths(fleet.agents[0]!.home);
	const samples: Record<Way, number[]> = {'getPeerCertificate().raw': [], 'getPeerX509Certificate().raw': []};
	const names = Object.keys(ways) as Way[];
	let index = 0;
	let der: Buffer | undefined;
	const server = createServer({key: readFileSync(paths.key), cert: readFileSync(paths.cert), ca: readFileSync(paths.ca), requestCert: true, rejectUnauthorized: true}, socket => {
		const way = names[index++ % names.length]!;
		const before = process.cpuUsage();
		const raw = ways[way](socket);
		const used = process.cpuUsage(before);
		samples[way].push(used.user + used.system);
		if (der !== undefined && !der.equals(raw)) {
			throw new Error(`${way} gave other bytes`);
		}

		der = raw;
		socket.end();
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as {port: number};
	const load = loadAverage();
	for (let count = 0; count < connections; count++) {
		await new Promise<void>((resolve, reject) => {
			const client = connect({host: '127.0.0.1', port, ...fleet.credentials, checkServerIdentity: () => undefined});
			client.on('data', () => undefined);
			client.once('error', reject);
			client.once('close', () => {
				resolve();
			});
		});
	}

	server.close();
	process.stdout.write(`The controller's certificate as the agent reads it, one call per connection — ${machine()}; ${connections} connections alternating; load ${load} at start, ${loadAverage()} at end\n`);
	for (const way of names) {
		const sorted = [...samples[way]].sort((a, b) => a - b);
		const quartile = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
		process.stdout.write(`  ${way}: median ${median(sorted).toFixed(0)} µs CPU (quartiles ${quartile(0.25).toFixed(0)}–${quartile(0.75).toFixed(0)}), ${der?.length ?? 0} bytes\n`);
	}

	return 0;
}

await runBench(main, log);
