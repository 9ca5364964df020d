/**
 * The controller's exchange over the relay as a state machine, driven without a broker or a
 * clock: the agent's replies are sealed as the agent seals them (relay-sealer.ts) for the request
 * envelopes the exchange published, and its timers fire when the test says so. Each case is one
 * way an exchange goes, and how it ends.
 */
import test from 'ava';
import {ReplySealer} from '../../agent/relay-sealer.js';
import type {ExchangeEnd, RequestWithoutEnvelope} from '../../source/dispatch/exchange-end.js';
import {RelayExchange, maxStatusAfterMs, type ExchangeTimer, type RelayExchangeOptions} from '../../source/dispatch/relay-exchange.js';
import {controllerSigning, requestSealer} from '../../source/dispatch/relay-request-sealer.js';
import type {ResponseFrame} from '../../source/protocol/frames.js';
import type {ReplyBody, RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {mintAuthority, now} from '../pki/mint.js';
import {holder, type Holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const web2 = await holder(fleet, {role: 'agent', name: 'web2'});
const clock = now.getTime();
const signing = controllerSigning({key: controller.key, cert: controller.certificate, ca: fleet.certificate.toString('pem')}, () => clock);
const target = {name: 'web1', serial: web1.serial, certificate: web1.certificate};
const id = 'req-00000001';
const run: RequestWithoutEnvelope = {type: 'run', id, script: 'hello', args: [], caller: 'alice'};
const result: ReplyBody = {type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 4, stderr: 0}};

type Published = {request: RequestWithoutEnvelope; hash: string; text: string};

/** The exchange with the test's ports: what it seals and publishes is kept, its timers fire when the test says. */
class Scripted extends RelayExchange {
	readonly published: Published[] = [];
	readonly timers = new Map<ExchangeTimer, {ms: number}>();
	readonly ends: ExchangeEnd[] = [];
	readonly broker = {down: false};
	readonly #seal = requestSealer(signing, target);

	protected seal(next: RequestWithoutEnvelope) {
		const sealed = this.#seal(next);
		this.published.push({request: next, ...sealed});
		return sealed;
	}

	protected publish() {
		if (this.broker.down) {
			throw new Error('connection closed');
		}
	}

	protected arm(name: ExchangeTimer, ms: number) {
		this.timers.set(name, {ms});
	}

	protected disarmAll() {
		this.timers.clear();
	}

	protected ended(end: ExchangeEnd) {
		this.ends.push(end);
	}
}

function harness(request: RequestWithoutEnvelope = run, options: Partial<RelayExchangeOptions> = {}) {
	const notices: string[] = [];
	const frames: ResponseFrame[] = [];
	const exchange = new Scripted(target, request, {connectTimeoutMs: 10_000, deadlineMs: 60_000, statusAfterMs: 1000, onNotice: text => notices.push(text), onFrame: frame => frames.push(frame), ...options});
	const {published, timers, ends, broker} = exchange;
	const fire = (name: ExchangeTimer) => {
		if (timers.delete(name)) {
			exchange.timerFired(name);
		}
	};

	/** The agent's replies to the `index`th envelope published, sealed as `agent` seals them. */
	const agentFor = (index: number, agent: Holder = web1) => new ReplySealer({id, hash: published[index]!.hash, run: published[index]!.request.type === 'run'}, {name: 'web1', serial: agent.serial, signer: () => agent.signer}, () => clock);
	return {exchange, published, timers, ends, notices, frames, broker, fire, agentFor};
}

test('a run: the unsigned ack, started and output are held, the signed result hands them on and ends the exchange', t => {
	const h = harness();
	t.true(h.exchange.start());
	t.deepEqual([...h.timers.keys()], ['connect', 'probe']);
	const agent = h.agentFor(0);
	h.exchange.receive(agent.seal({type: 'ack', id, found: true}));
	t.deepEqual([...h.timers.keys()], ['connect', 'probe', 'deadline', 'status'], 'an unsigned ack is heard: the deadline bounds the run, and its silence is watched');
	h.exchange.receive(agent.seal({type: 'started', id}));
	h.exchange.receive(agent.seal({type: 'stdout', id, data: 'one\n'}));
	t.deepEqual(h.frames, [], 'nothing unsigned is acted on');
	h.exchange.receive(agent.seal(result));
	t.deepEqual(h.frames.map(frame => frame.type), ['started', 'stdout']);
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'result', status: 'ok'}}]);
	t.is(h.timers.size, 0, 'every timer is cleared');
	t.true(h.exchange.settled);
});

test('no answer within the connect timeout: unreachable, naming the agent', t => {
	const h = harness();
	h.exchange.start();
	t.is(h.timers.get('connect')?.ms, 10_000);
	h.fire('connect');
	t.deepEqual(h.ends, [{kind: 'unreachable', reason: 'no signed answer from agent web1 over the relay within 10 s (is it connected to the broker?)'}]);
});

test('an unsigned ack counts as heard: the connect timeout no longer ends the run, the deadline does', t => {
	const h = harness();
	h.exchange.start();
	h.exchange.receive(h.agentFor(0).seal({type: 'ack', id, found: true}));
	h.fire('connect');
	t.deepEqual(h.ends, []);
	t.is(h.timers.get('deadline')?.ms, 60_000);
	h.fire('deadline');
	t.deepEqual(h.ends, [{kind: 'deadline'}]);
});

test('a run heard from before half the connect timeout is not asked for its status then', t => {
	const h = harness();
	h.exchange.start();
	t.is(h.timers.get('probe')?.ms, 5000, 'half the connect timeout');
	h.exchange.receive(h.agentFor(0).seal({type: 'started', id}));
	h.fire('probe');
	t.deepEqual(h.published.map(each => each.request.type), ['run']);
});

test('a run not heard from at half the connect timeout (its only reply, the result, lost): the status question recovers the result', t => {
	const h = harness();
	h.exchange.start();
	const agent = h.agentFor(0);
	const lostResult = agent.seal(result);
	h.fire('probe');
	t.deepEqual(h.published.map(each => each.request), [run, {type: 'status', id, caller: 'alice'}]);
	t.is(h.timers.get('status')?.ms, 1000, 'asked again after statusAfterMs of silence');
	h.exchange.receive(h.agentFor(1).seal({type: 'ack', id, found: true}));
	h.fire('connect');
	t.deepEqual(h.ends, [], 'the signed status answer is heard: the connect timeout no longer ends the run');
	h.exchange.receive(lostResult);
	t.deepEqual(h.notices, [
		'the run went quiet: the controller asked the agent for its status, and the agent knows the request',
		'the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)',
	]);
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'result', status: 'ok'}}]);
});

test('a run not heard from, whose agent has no record of it (the request lost on the way): lost at once, saying the agent will refuse it', t => {
	const h = harness();
	h.exchange.start();
	h.fire('probe');
	h.exchange.receive(h.agentFor(1).seal({type: 'ack', id, found: false}));
	t.deepEqual(h.ends, [{kind: 'lost', reason: 'agent web1 has no record of request req-00000001: the request was lost on the way (or the agent restarted during it), and it will refuse it from now on'}]);
});

test('a run not heard from whose status question gets no answer either: unreachable at the connect timeout', t => {
	const h = harness();
	h.exchange.start();
	h.fire('probe');
	h.fire('connect');
	t.deepEqual(h.ends, [{kind: 'unreachable', reason: 'no signed answer from agent web1 over the relay within 10 s (is it connected to the broker?)'}]);
	t.is(h.published.filter(each => each.request.type === 'status').length, 1);
});

test('a describe is not asked for its status: only a run\'s ack is held back', t => {
	const h = harness({type: 'describe', id});
	h.exchange.start();
	t.deepEqual([...h.timers.keys()], ['connect']);
	t.is(envelopeOf(h.published[0]!).probe, undefined, 'nor does its envelope say the controller probes');
});

const envelopeOf = (published: Published) => (JSON.parse(published.text) as {env: RequestEnvelope}).env;

test('a run\'s envelope says, signed, that this controller asks it for its status when it hears nothing (the agent may hold its ack); its status question does not', t => {
	const h = harness();
	h.exchange.start();
	h.fire('probe');
	t.deepEqual(h.published.map(each => [each.request.type, envelopeOf(each).probe]), [['run', true], ['status', undefined]]);
});

test('a quiet run is asked for its status; the agent not knowing the request ends it lost at once', t => {
	const h = harness();
	h.exchange.start();
	h.exchange.receive(h.agentFor(0).seal({type: 'ack', id, found: true}));
	h.fire('status');
	t.deepEqual(h.published.map(each => each.request), [run, {type: 'status', id, caller: 'alice'}]);
	t.is(h.timers.get('status')?.ms, 2000, 'asked again after twice as long');
	h.exchange.receive(h.agentFor(1).seal({type: 'ack', id, found: false}));
	t.deepEqual(h.ends, [{kind: 'lost', reason: 'agent web1 has no record of request req-00000001 (it restarted, or forgot it): its result is lost'}]);
});

test('the agent knows the quiet run: that is news, and the result it sends again ends the run with a notice', t => {
	const h = harness();
	h.exchange.start();
	const agent = h.agentFor(0);
	h.exchange.receive(agent.seal({type: 'ack', id, found: true}));
	const lostResult = agent.seal(result);
	h.fire('status');
	h.exchange.receive(h.agentFor(1).seal({type: 'ack', id, found: true}));
	t.deepEqual(h.ends, []);
	h.exchange.receive(lostResult);
	t.deepEqual(h.notices, [
		'the run went quiet: the controller asked the agent for its status, and the agent knows the request',
		'the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)',
	]);
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'result'}}]);
});

test('status questions back off to twice as long each time, up to 5 minutes', t => {
	const h = harness(run, {statusAfterMs: 100_000});
	h.exchange.start();
	h.exchange.receive(h.agentFor(0).seal({type: 'ack', id, found: true}));
	const waits: number[] = [];
	for (let index = 0; index < 4; index++) {
		waits.push(h.timers.get('status')!.ms);
		h.fire('status');
	}

	t.deepEqual(waits, [100_000, 200_000, maxStatusAfterMs, maxStatusAfterMs]);
	t.is(h.published.filter(each => each.request.type === 'status').length, 4);
});

test('a describe is not watched for silence: its description ends it', t => {
	const h = harness({type: 'describe', id});
	h.exchange.start();
	h.exchange.receive(h.agentFor(0).seal({type: 'description', id, agent: {name: 'web1', tags: {}}, scripts: []}));
	t.false(h.timers.has('status'));
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'description'}}]);
});

test('a cancel goes out as its own envelope: its ack is news, the run\'s result still ends the exchange', t => {
	const h = harness(run, {cancel: {signal: new AbortController().signal, caller: 'bob', graceMs: 5000}});
	h.exchange.start();
	const agent = h.agentFor(0);
	h.exchange.receive(agent.seal({type: 'ack', id, found: true}));
	h.exchange.cancel();
	t.deepEqual(h.published[1]!.request, {type: 'cancel', id, caller: 'bob'});
	t.is(h.timers.get('cancel')?.ms, 5000);
	h.exchange.receive(h.agentFor(1).seal({type: 'ack', id, found: true}));
	t.deepEqual(h.notices, ['cancel delivered']);
	t.deepEqual(h.ends, []);
	h.exchange.receive(agent.seal({...result, status: 'cancelled'} as ReplyBody));
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'result', status: 'cancelled'}}]);
});

test('a cancel the agent does not confirm within its grace: lost', t => {
	const h = harness(run, {cancel: {signal: new AbortController().signal, caller: 'bob', graceMs: 5000}});
	h.exchange.start();
	h.exchange.cancel();
	h.fire('cancel');
	t.deepEqual(h.ends, [{kind: 'lost', reason: 'the agent did not confirm the cancel over the relay'}]);
});

test('a broken broker connection: unreachable before the agent answered, lost after', t => {
	const before = harness();
	before.broker.down = true;
	t.false(before.exchange.start());
	t.deepEqual(before.ends, [{kind: 'unreachable', reason: 'the broker connection failed: connection closed'}]);

	const after = harness();
	after.exchange.start();
	after.exchange.receive(after.agentFor(0).seal({type: 'ack', id, found: true}));
	after.broker.down = true;
	after.fire('status');
	t.deepEqual(after.ends, [{kind: 'lost', reason: 'the broker connection failed: connection closed'}]);
	t.false(after.timers.has('status'), 'no further question is scheduled');
});

test('a reply signed by another agent\'s key ends the exchange as a protocol error; a duplicate is noticed and dropped', t => {
	const forged = harness();
	forged.exchange.start();
	forged.exchange.receive(forged.agentFor(0, web2).seal(result).replace(web2.serial, web1.serial));
	t.deepEqual(forged.ends, [{kind: 'protocol', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'}]);

	const doubled = harness();
	doubled.exchange.start();
	const agent = doubled.agentFor(0);
	const ack = agent.seal({type: 'ack', id, found: true});
	doubled.exchange.receive(ack);
	doubled.exchange.receive(ack);
	doubled.exchange.receive(agent.seal(result));
	t.deepEqual(doubled.notices, ['the broker delivered a reply twice: the copy was dropped']);
	t.like(doubled.ends, [{kind: 'terminal', frame: {type: 'result'}}]);
});

test('a frame the exchange does not end on goes to onFrame, which may send the next envelope or fail the exchange', t => {
	let replyWith: ((request: RequestWithoutEnvelope) => void) | undefined;
	const renew: RequestWithoutEnvelope = {type: 'renew', id, caller: 'alice'};
	const h = harness(renew, {onFrame(_frame, reply) {
		replyWith = reply;
	}});
	h.exchange.start();
	h.exchange.receive(h.agentFor(0).seal({type: 'csr', id, csr: '-----BEGIN CERTIFICATE REQUEST-----\nx\n'}));
	replyWith!({type: 'certificate', id, certificate: 'PEM'});
	t.deepEqual(h.published.map(each => each.request.type), ['renew', 'certificate']);
	h.exchange.receive(h.agentFor(1).seal({type: 'renewed', id, serial: 'ab', notAfter: '2027-01-01T00:00:00.000Z'}));
	t.like(h.ends, [{kind: 'terminal', frame: {type: 'renewed'}}]);

	const failing = harness(renew, {onFrame(_frame, _reply, fail) {
		fail('the CSR names another agent');
	}});
	failing.exchange.start();
	failing.exchange.receive(failing.agentFor(0).seal({type: 'csr', id, csr: '-----BEGIN CERTIFICATE REQUEST-----\nx\n'}));
	t.deepEqual(failing.ends, [{kind: 'protocol', reason: 'the CSR names another agent'}]);
});

test('once ended, the exchange ends no more: later replies, cancels and finishes are ignored', t => {
	const h = harness(run, {cancel: {signal: new AbortController().signal, caller: 'bob', graceMs: 5000}});
	h.exchange.start();
	h.fire('connect');
	h.exchange.receive(h.agentFor(0).seal(result));
	h.exchange.cancel();
	h.exchange.finish({kind: 'deadline'});
	t.is(h.ends.length, 1);
	t.is(h.published.length, 1, 'no cancel went out after the end');
	t.is(h.timers.size, 0);
});
