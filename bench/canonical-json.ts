/**
 * What writing an envelope's canonical JSON costs (the bytes every relay message is signed and
 * hashed over, on the agent for each reply and on the controller for each request): the
 * `canonicalize` package against source/protocol/canonical-json.ts, on a dry run's signed result
 * and on a run request, in CPU time (process.cpuUsage), rounds interleaved, medians; and what a
 * whole seal costs beside it (canonical JSON, SHA-256, a P-256 signature). One line per envelope,
 * with the load average.
 *
 *   node --import=tsx bench/canonical-json.ts        BENCH_REPS (7) rounds of 20,000 each (2,000 seals)
 */
import {generateKeyPairSync} from 'node:crypto';
import canonicalize from 'canonicalize';
import {canonicalJson} from '../source/protocol/canonical-json.js';
import {requestEnvelope, sealEnvelope, type ReplyEnvelope, type RequestEnvelope} from '../source/protocol/relay-envelope.js';
import {loadAverage} from './environment.js';
import {median} from './processes.js';

const reply: ReplyEnvelope = {v: 1, kind: 'reply', id: 'bench-run-000001', seq: 1, agent: 'bench-0001', serial: '4f1c2a9be03d17c5', req: 'a'.repeat(64), prev: 'a'.repeat(64), iat: Date.now(), body: {type: 'result', id: 'bench-run-000001', status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run', head: {log: 'agent', seq: 12, hash: 'c'.repeat(64), signature: 'MEUCIQ' + 'x'.repeat(90), keyId: 'd'.repeat(16)}} as ReplyEnvelope['body']};
const request: RequestEnvelope = requestEnvelope({id: 'bench-run-000001', seq: 1_765_000_000_000_000, agent: 'bench-0001', fleet: 'e'.repeat(64), serial: '4f1c2a9be03d17c5', iat: Date.now(), probe: true, head: {log: 'controller', seq: 40, hash: 'f'.repeat(64), signature: 'MEUCIQ' + 'y'.repeat(90), keyId: '0'.repeat(16)}, body: {type: 'run', script: 'uptime', args: [], caller: 'bench', dryRun: true, timeoutMs: 300_000}});
const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});

const count = 20_000;
const rounds = Number(process.env['BENCH_REPS'] ?? 7);

/** CPU µs per call of `write` over `calls` calls. */
function perCall(write: () => unknown, calls = count): number {
	const before = process.cpuUsage();
	for (let index = 0; index < calls; index++) {
		write();
	}

	const used = process.cpuUsage(before);
	return (used.user + used.system) / calls;
}

const load = loadAverage();
for (const [name, env] of [['a dry run\'s signed result', reply], ['a run request', request]] as const) {
	const kinds = {package: () => canonicalize(env), ours: () => canonicalJson(env)};
	if (kinds.package() !== kinds.ours()) {
		throw new Error(`the two differ on ${name}`);
	}

	const samples = {package: [] as number[], ours: [] as number[], seal: [] as number[]};
	for (let round = 0; round < rounds; round++) {
		samples.package.push(perCall(kinds.package));
		samples.ours.push(perCall(kinds.ours));
		samples.seal.push(perCall(() => sealEnvelope(env, {key: privateKey}), count / 10));
	}

	const [before, after, seal] = [median(samples.package), median(samples.ours), median(samples.seal)];
	process.stdout.write(`canonical JSON of ${name} (${canonicalJson(env)!.length} bytes): canonicalize ${before.toFixed(2)} µs, canonicalJson ${after.toFixed(2)} µs (${(before / after).toFixed(2)}× faster); a whole seal with canonicalJson ${seal.toFixed(1)} µs, so ${(100 * (before - after) / (seal + before - after)).toFixed(1)}% of a seal saved; load ${load}\n`);
}
