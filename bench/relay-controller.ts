/**
 * The controller's own CPU per agent over the relay, without a broker or agents beside it on the
 * CPU: the real dispatcher, client context and relay link (relay-link.ts, with the NATS connection
 * replaced by one in this process) run a dry run on N agents, each answered by a fake agent here
 * that seals its result as a relay agent does (ReplySealer, signed with the agent's own key); the
 * fake agent's own time is measured and taken out. What is left is what the controller spends:
 * sealing and publishing each request, reading, verifying and decoding each reply, the exchange,
 * the dispatcher. Checkouts interleaved round by round in one process, so one run is an A/B; the
 * order flips every round (the first of a round runs faster), so use an even BENCH_REPS.
 *
 *   nice -n 10 node --expose-gc --import=tsx bench/relay-controller.ts [BASE_CHECKOUT ...]
 *
 * Settings: BENCH_SIZES (1000), BENCH_REPS (9), BENCH_OWN=0 (this checkout only runs the fake agents: an
 * A/B of two other checkouts, neither sharing modules with them), BENCH_PARALLEL (256), BENCH_HEAP=1 (one more run of
 * each with the sampling heap profiler: bytes allocated per agent and the top sites).
 * Agents' keys: every agent has its own certificate; the first (warm-up) run of each checkout
 * imports them, the measured rounds find them imported (as a second run in one process does).
 */
import {randomUUID} from 'node:crypto';
import {setMaxListeners} from 'node:events';
import {join} from 'node:path';
import {ReplySealer} from '../agent/relay-sealer.js';
import {openRequest, type ReplyBody} from '../source/protocol/relay-envelope.js';
import {relaySubjects} from '../source/protocol/relay-subjects.js';
import {createHash} from 'node:crypto';
import {mintAuthority} from '../test/pki/mint.js';
import {holder, type Holder} from '../test/relay/identities.js';
import {startAllocationSampling} from './heap-sample.js';
import {loadAverage} from './environment.js';
import {repoRoot} from './hosts.js';
import {startRunProfile} from './run-profile.js';

setMaxListeners(0);
const sizes = (process.env['BENCH_SIZES'] ?? '1000').split(',').map(Number);
const reps = Number(process.env['BENCH_REPS'] ?? 9);
const parallel = Number(process.env['BENCH_PARALLEL'] ?? 256);
// BENCH_OWN=0: only the checkouts named (the fake agents run this checkout's code; a checkout measured that shares its modules with them ran ~5% faster at load 15).
const checkouts = [...(process.env['BENCH_OWN'] === '0' ? [] : [repoRoot]), ...process.argv.slice(2)];
const largest = Math.max(...sizes);

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const credentials = {key: controller.key, cert: controller.certificate, ca: fleet.certificate.toString('pem')};
const agents: Array<Holder & {name: string}> = [];
for (let index = 0; index < largest; index++) {
	const name = `relay-${String(index).padStart(5, '0')}`;
	agents.push({...await holder(fleet, {role: 'agent', name}), name});
}

const byToken = new Map(agents.map(agent => [agent.name, agent]));
const agentHead = {log: 'agent', seq: 1234, hash: 'ab'.repeat(32), signature: 'MEUCIQ' + 'x'.repeat(90), keyId: 'cd'.repeat(8)};
/** The fake agents' own CPU (process.cpuUsage around each answer: CPU, not wall time, which a loaded machine stretches), µs. */
let agentUs = 0;

type Message = {subject: string; data: Uint8Array};
/** A NATS connection in this process: each request published is answered by its agent's signed dry-run result, delivered in a later turn. */
function fakeConnect() {
	let deliver: ((error: Error | null, message: Message) => void) | undefined;
	let queued: Message[] = [];
	const flush = () => {
		const sending = queued;
		queued = [];
		for (const message of sending) {
			deliver?.(null, message);
		}
	};

	const connection = {
		subscribe(_subject: string, options: {callback: (error: Error | null, message: Message) => void}) {
			deliver = options.callback;
		},
		publish(subject: string, text: string) {
			const started = process.cpuUsage();
			const token = subject.split('.')[2]!;
			const agent = byToken.get(token)!;
			const opened = openRequest(text);
			if (!opened.ok || !opened.signed) {
				throw new Error(`bad request: ${opened.ok ? 'not as sent' : opened.reason}`);
			}

			const {env} = opened.message;
			const hash = createHash('sha256').update(opened.signed).digest('hex');
			const sealer = new ReplySealer({id: env.id, hash, run: true}, {name: agent.name, serial: agent.serial, signer: () => agent.signer}, Date.now);
			const body: ReplyBody = {type: 'result', id: env.id, status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run', agentHead};
			const reply = sealer.seal(body);
			if (queued.length === 0) {
				setImmediate(flush);
			}

			queued.push({subject: relaySubjects.reply(agent.name, env.id), data: Buffer.from(reply)});
			const spent = process.cpuUsage(started);
			agentUs += spent.user + spent.system;
		},
		async flush() {},
		async drain() {},
	};
	return connection;
}

type Checkout = {label: string; run: (size: number) => Promise<void>};

async function checkoutOf(directory: string): Promise<Checkout> {
	const source = join(directory, 'source/dispatch');
	const {dispatch} = await import(join(source, 'dispatcher.ts')) as typeof import('../source/dispatch/dispatcher.js');
	const {createClientContext} = await import(join(source, 'agent-connection.ts')) as typeof import('../source/dispatch/agent-connection.js');
	const {openRelayLink} = await import(join(source, 'relay-link.ts')) as typeof import('../source/dispatch/relay-link.js');
	const targets = agents.map(agent => ({name: agent.name, address: '127.0.0.1', transport: 'nats' as const, relay: 'nats://in-process', serial: agent.serial, certificate: agent.certificate}));
	return {
		label: directory,
		async run(size) {
			const context = createClientContext(credentials, async (url, creds) => openRelayLink({url, credentials: creds, connect: fakeConnect as never}));
			const summary = await dispatch(targets.slice(0, size), {requestId: randomUUID(), script: 'uptime', args: [], caller: 'bench@localhost', timeoutMs: 300_000, dryRun: true}, {context, parallel, connectTimeoutMs: 30_000, emit() {}});
			await context.close();
			if ((summary.counts.ok ?? 0) !== size) {
				throw new Error(`${directory}: ${summary.notOk.length} not ok, e.g. ${summary.notOk[0]?.reason}`);
			}
		},
	};
}

/** The controller's CPU in ms for one run: this process's CPU less the fake agents'. */
async function measured(checkout: Checkout, size: number): Promise<number> {
	(globalThis as {gc?: () => void}).gc?.();
	const agentBefore = agentUs;
	const before = process.cpuUsage();
	await checkout.run(size);
	const used = process.cpuUsage(before);
	return (used.user + used.system - (agentUs - agentBefore)) / 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const all = await Promise.all(checkouts.map(checkoutOf));
for (const checkout of all) {
	await checkout.run(largest);
	await checkout.run(largest);
}

process.stdout.write(`relay controller CPU per agent, fake agents' own time taken out; parallel ${parallel}; load at start ${loadAverage()}\n`);
const stopProfile = await startRunProfile('relay-controller.cpuprofile');
for (const size of sizes) {
	const samples = all.map(() => [] as number[]);
	for (let round = 0; round < reps; round++) {
		// Every other round in the opposite order: the checkout measured first in a round runs faster (s16: ~10% at load 12, both ways).
		const order = round % 2 === 0 ? [...all.keys()] : [...all.keys()].reverse();
		for (const index of order) {
			samples[index]!.push(await measured(all[index]!, size) / size);
		}
	}

	for (const [index, checkout] of all.entries()) {
		const each = samples[index]!;
		const paired = index === 0 ? '' : `; paired with ${all[0]!.label} round by round: mean difference ${(each.reduce((sum, value, round) => sum + value - samples[0]![round]!, 0) / each.length).toFixed(3)} ms/agent`;
		process.stdout.write(`N=${size} ${checkout.label}: median ${median(each).toFixed(3)} ms/agent (min ${Math.min(...each).toFixed(3)}, max ${Math.max(...each).toFixed(3)}; ${each.map(value => value.toFixed(3)).join(' ')})${paired}\n`);
	}
}

await stopProfile?.();
if (process.env['BENCH_HEAP'] === '1') {
	for (const checkout of all) {
		(globalThis as {gc?: () => void}).gc?.();
		const stop = await startAllocationSampling();
		await checkout.run(largest);
		const {bytes, sites, young, full} = await stop();
		process.stdout.write(`N=${largest} ${checkout.label}: allocated ${(bytes / largest / 1024).toFixed(2)} KB/agent (GC ${young} young, ${full} full; the fake agents' included); ${sites.slice(0, 14).map(each => `${each.site} ${(each.bytes / largest / 1024).toFixed(2)}`).join('; ')}\n`);
	}
}

process.stdout.write(`load at end ${loadAverage()}\n`);
