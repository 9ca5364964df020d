/**
 * What reading the agent's certificate at the handshake costs the controller: node's own call
 * (getPeerCertificate(true): the chain, each certificate with every field and three fingerprints)
 * against the plain rendering of the leaf that dialAgent hands the check instead
 * (getPeerCertificate(false)), on one connection to a bench agent's certificate. CPU time per
 * call (process.cpuUsage), rounds interleaved, medians, load. (getPeerX509Certificate is no
 * candidate on Node 20: on a client it takes the leaf out of the connection's chain, so only its
 * first call answers, and nothing read after it would see the leaf.)
 *
 *   node --import=tsx bench/peer-certificate.ts        BENCH_REPS (7) rounds of 2,000 calls each
 */
import {mkdtempSync, readFileSync} from 'node:fs';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {connect, createServer} from 'node:tls';
import {createTlsContext} from '../source/dispatch/agent-identity.js';
import {loadAverage} from './environment.js';
import {createFleet} from './fleet.js';
import {median} from './processes.js';

const calls = 2000;
const rounds = Number(process.env['BENCH_REPS'] ?? 7);
const root = mkdtempSync(join(tmpdir(), 'xi-exec-peer-certificate-'));
const fleet = await createFleet(root, 1, 0);
const agent = fleet.agents[0]!;
const server = createServer({key: readFileSync(join(agent.home, 'agent.key')), cert: readFileSync(join(agent.home, 'agent.pem')), ca: [readFileSync(join(agent.home, 'ca.pem'))], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, socket => {
	socket.on('error', () => undefined);
});
await new Promise<void>(resolve => {
	server.listen(0, '127.0.0.1', resolve);
});
const socket = connect({host: '127.0.0.1', port: (server.address() as AddressInfo).port, secureContext: createTlsContext(fleet.credentials), minVersion: 'TLSv1.3', checkServerIdentity: () => undefined});
await new Promise(resolve => socket.once('secureConnect', resolve));

const ways: Array<{label: string; read: () => unknown}> = [
	{label: 'getPeerCertificate(true), node\'s call at the handshake', read: () => socket.getPeerCertificate(true)},
	{label: 'getPeerCertificate(false), the leaf dialAgent hands the check', read: () => socket.getPeerCertificate(false)},
];
const samples = ways.map(() => [] as number[]);
for (let round = 0; round < rounds; round++) {
	for (const [index, way] of ways.entries()) {
		const before = process.cpuUsage();
		for (let call = 0; call < calls; call++) {
			way.read();
		}

		const used = process.cpuUsage(before);
		samples[index]!.push((used.user + used.system) / calls);
	}
}

for (const [index, way] of ways.entries()) {
	process.stdout.write(`${way.label}: ${median(samples[index]!).toFixed(1)} µs CPU per call (median of ${rounds}, ${samples[index]!.map(each => each.toFixed(0)).join(', ')}); load ${loadAverage()}\n`);
}

socket.destroy();
server.close();
