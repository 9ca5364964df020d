/**
 * What reading the agent's certificate at the handshake costs the controller: node's own call
 * (getPeerCertificate(true): the chain, each certificate with every field and three fingerprints)
 * against the plain rendering of the leaf that dialAgent hands the check instead
 * (getPeerCertificate(false)), on one connection to a bench agent's certificate. CPU time per
 * call (process.cpuUsage), rounds interleaved, medians, load.
 *
 * Then the one read a connection makes, on fresh connections, against getPeerX509Certificate's
 * serial and SAN, which only a first read can time: on a Node 20 client it builds an object for
 * the rest of the peer's chain too, X509_dup (a DER re-parse, public key and all) of each issuer
 * the agent sent (its CA), and deletes every certificate from the connection's chain as it goes,
 * so nothing read after it sees one (measured at 2.5x the plain leaf's cost: no candidate).
 *
 *   node --import=tsx bench/peer-certificate.ts        BENCH_REPS (7) rounds of 2,000 calls each,
 *                                                      then BENCH_REPS x 30 fresh connections a way
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
const context = createTlsContext(fleet.credentials);
async function secureConnection() {
	const connection = connect({host: '127.0.0.1', port: (server.address() as AddressInfo).port, secureContext: context, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined});
	await new Promise(resolve => connection.once('secureConnect', resolve));
	return connection;
}

const socket = await secureConnection();

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

const firstReads: Array<{label: string; read: (fresh: typeof socket) => unknown}> = [
	{label: 'getPeerCertificate(false), serial and SAN', read(fresh) {
		const leaf = fresh.getPeerCertificate(false);
		return [leaf.serialNumber, leaf.subjectaltname];
	}},
	{label: 'getPeerX509Certificate(), serial and SAN', read(fresh) {
		const leaf = fresh.getPeerX509Certificate();
		return [leaf?.serialNumber, leaf?.subjectAltName];
	}},
];
const firstSamples = firstReads.map(() => [] as number[]);
for (let connection = 0; connection < rounds * 30; connection++) {
	for (const [index, way] of firstReads.entries()) {
		const fresh = await secureConnection();
		const before = process.cpuUsage();
		way.read(fresh);
		const used = process.cpuUsage(before);
		firstSamples[index]!.push(used.user + used.system);
		fresh.destroy();
	}
}

for (const [index, way] of firstReads.entries()) {
	process.stdout.write(`first read on a fresh connection, ${way.label}: ${median(firstSamples[index]!).toFixed(0)} µs CPU (median of ${firstSamples[index]!.length}); load ${loadAverage()}\n`);
}

server.close();
