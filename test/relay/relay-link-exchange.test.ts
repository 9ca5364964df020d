/**
 * The relay link's exchanges end to end, as a table, over a NATS connection held in the test
 * (openRelayLink's `connect`) with real timers: what the controller publishes (each envelope's
 * body, and the envelope's fields but its nonce), the frames it hands on, the notices it gives and
 * exactly how each exchange ends, for a result, a refusal, held replies, a duplicate, a forged
 * signature, a revoked serial, a reply to another envelope, silence (the probe, then unreachable),
 * a quiet run asked for its status, a forgotten request, a confirmed and an unconfirmed cancel,
 * the deadline, a broker that fails, and a second exchange of one request. It pins the behaviour
 * through the link's restructuring into one object per exchange (it passed before it too).
 */
import {createHash} from 'node:crypto';
import test from 'ava';
import {ReplySealer} from '../../agent/relay-sealer.js';
import type {ExchangeEnd, RequestWithoutEnvelope} from '../../source/dispatch/exchange-end.js';
import {openRelayLink, type RelayExchangeOptions} from '../../source/dispatch/relay-link.js';
import type {ResponseFrame} from '../../source/protocol/frames.js';
import {openRequest, type ReplyBody, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {relaySubjects} from '../../source/protocol/relay-subjects.js';
import {mintAuthority, now} from '../pki/mint.js';
import {holder, type Holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const web2 = await holder(fleet, {role: 'agent', name: 'web2'});
const clock = now.getTime();
const credentials = {key: controller.key, cert: controller.certificate, ca: fleet.certificate.toString('pem')};
const target = {name: 'web1', serial: web1.serial, certificate: web1.certificate};
const id = 'req-00000001';
const run: RequestWithoutEnvelope = {type: 'run', id, script: 'hello', args: ['a'], caller: 'alice', timeoutMs: 1000};
const result: ReplyBody = {type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 4, stderr: 0}};
/** A reply's frame as the controller decodes it (its type, then v, then the rest). */
const decoded = (body: ReplyBody) => Object.assign({type: body.type, v: 1}, body) as ResponseFrame;
const wait = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

type Message = {subject: string; data: Uint8Array};
type Sent = {subject: string; env: RequestEnvelope; hash: string};

/** A NATS connection in the test: what is published is kept; `deliver` hands a message to the link's subscription. */
function heldConnection() {
	const sent: Sent[] = [];
	const state = {down: false};
	let callback: ((error: Error | null, message: Message) => void) | undefined;
	const connection = {
		subscribe(_subject: string, options: {callback: typeof callback}) {
			callback = options.callback;
		},
		publish(subject: string, text: string) {
			if (state.down) {
				throw new Error('connection closed');
			}

			const opened = openRequest(text);
			if (!opened.ok || !opened.signed) {
				throw new Error('the link published a message that is not a sealed request');
			}

			sent.push({subject, env: opened.message.env, hash: createHash('sha256').update(opened.signed).digest('hex')});
		},
		async flush() {},
		async drain() {},
	};
	const deliverBytes = (data: Uint8Array) => callback?.(null, {subject: relaySubjects.reply('web1', id), data});
	const deliver = (text: string) => deliverBytes(Buffer.from(text));
	return {connection, sent, state, deliver, deliverBytes};
}

type Driver = {
	sent: Sent[];
	/** The agent's sealer for the `index`th envelope published (one per envelope, so its chain goes on). */
	agent: (index: number, as?: Holder) => ReplySealer;
	deliver: (text: string) => void;
	/** A message as bytes: ones that are not the UTF-8 of the text they decode to. */
	deliverBytes: (data: Uint8Array) => void;
	abort: () => void;
	brokerDown: () => void;
	published: (count: number) => Promise<void>;
};

type Case = {
	title: string;
	request?: RequestWithoutEnvelope;
	options?: Partial<RelayExchangeOptions>;
	drive: (driver: Driver) => Promise<void>;
	end: ExchangeEnd;
	sent: string[];
	frames?: string[];
	notices?: string[];
	second?: ExchangeEnd;
};

const cases: Case[] = [
	{
		title: 'a dry run answered by its signed result alone',
		async drive({agent, deliver}) {
			deliver(agent(0).seal({...result, exitCode: null, durationMs: 0, reason: 'dry run: would run'}));
		},
		end: {kind: 'terminal', frame: decoded({...result, exitCode: null, durationMs: 0, reason: 'dry run: would run'})},
		sent: ['run'],
	},
	{
		title: 'unsigned ack, started and output held until the signed result hands them on',
		async drive({agent, deliver}) {
			const sealer = agent(0);
			deliver(sealer.seal({type: 'ack', id, found: true}));
			deliver(sealer.seal({type: 'started', id}));
			deliver(sealer.seal({type: 'stdout', id, data: 'one\n'}));
			deliver(sealer.seal(result));
		},
		end: {kind: 'terminal', frame: decoded(result)},
		sent: ['run'],
		frames: ['started', 'stdout one\n'],
	},
	{
		title: 'a refusal ends the exchange with the agent\'s error',
		async drive({agent, deliver}) {
			deliver(agent(0).seal({type: 'error', id, code: 'forbidden', message: 'refused: script hello is not allowlisted'}));
		},
		end: {kind: 'terminal', frame: {type: 'error', v: 1, id, code: 'forbidden', message: 'refused: script hello is not allowlisted'} as ResponseFrame},
		sent: ['run'],
	},
	{
		title: 'a reply the broker duplicated is dropped and noticed',
		async drive({agent, deliver}) {
			const sealer = agent(0);
			const started = sealer.seal({type: 'started', id});
			deliver(started);
			deliver(started);
			deliver(sealer.seal(result));
		},
		end: {kind: 'terminal', frame: decoded(result)},
		sent: ['run'],
		frames: ['started'],
		notices: ['the broker delivered a reply twice: the copy was dropped'],
	},
	{
		title: 'a result signed with another agent\'s key is refused',
		async drive({agent, deliver}) {
			deliver(agent(0, web2).seal(result).replace(web2.serial, web1.serial));
		},
		end: {kind: 'protocol', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'},
		sent: ['run'],
	},
	{
		title: 'a reply under a revoked serial is refused',
		options: {revoked: new Set([web1.serial])},
		async drive({agent, deliver}) {
			deliver(agent(0).seal(result));
		},
		end: {kind: 'protocol', reason: `over the relay: the reply names agent certificate serial ${web1.serial}, which is revoked`},
		sent: ['run'],
	},
	{
		title: 'a reply to an envelope this exchange did not send is set aside; the run\'s own result ends it',
		async drive({agent, deliver}) {
			deliver(new ReplySealer({id, hash: 'ab'.repeat(32), run: true}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => clock).seal(result));
			deliver(agent(0).seal(result));
		},
		end: {kind: 'terminal', frame: decoded(result)},
		sent: ['run'],
		notices: ['set aside: a signed reply to a request envelope this exchange did not send (a replayed request)'],
	},
	{
		title: 'silence: the run is asked for its status at half the connect timeout, then the agent is unreachable',
		async drive({published}) {
			await published(2);
		},
		end: {kind: 'unreachable', reason: 'no signed answer from agent web1 over the relay within 0.4 s (is it connected to the broker?)'},
		sent: ['run', 'status'],
	},
	{
		title: 'a request the agent has no record of, found by the probe, is lost',
		async drive({published, agent, deliver}) {
			await published(2);
			deliver(agent(1).seal({type: 'ack', id, found: false}));
		},
		end: {kind: 'lost', reason: 'agent web1 has no record of request req-00000001: the request was lost on the way (or the agent restarted during it), and it will refuse it from now on'},
		sent: ['run', 'status'],
	},
	{
		title: 'a quiet run is asked for its status; the agent knows it and sends its result again',
		options: {statusAfterMs: 150},
		async drive({published, agent, deliver}) {
			deliver(agent(0).seal({type: 'ack', id, found: true}, true));
			await published(2);
			deliver(agent(1).seal({type: 'ack', id, found: true}));
			deliver(agent(0).seal(result));
		},
		end: {kind: 'terminal', frame: decoded(result)},
		sent: ['run', 'status'],
		notices: ['the run went quiet: the controller asked the agent for its status, and the agent knows the request', 'the result came after the controller asked for the status: the agent sent it again (lost or late on the broker)'],
	},
	{
		title: 'a cancel the agent confirms; the run\'s result still ends the exchange',
		async drive({agent, deliver, abort, published}) {
			deliver(agent(0).seal({type: 'ack', id, found: true}, true));
			abort();
			await published(2);
			deliver(agent(1).seal({type: 'ack', id, found: true}));
			deliver(agent(0).seal({...result, status: 'cancelled', exitCode: null, signal: 'SIGTERM'}));
		},
		end: {kind: 'terminal', frame: decoded({...result, status: 'cancelled', exitCode: null, signal: 'SIGTERM'})},
		sent: ['run', 'cancel'],
		notices: ['cancel delivered'],
	},
	{
		title: 'a cancel nobody confirms: the run is lost after the cancel\'s grace',
		async drive({agent, deliver, abort, published}) {
			deliver(agent(0).seal({type: 'ack', id, found: true}, true));
			abort();
			await published(2);
		},
		end: {kind: 'lost', reason: 'the agent did not confirm the cancel over the relay'},
		sent: ['run', 'cancel'],
	},
	{
		title: 'an acknowledged run that never ends meets the deadline',
		options: {deadlineMs: 250},
		async drive({agent, deliver}) {
			deliver(agent(0).seal({type: 'ack', id, found: true}, true));
		},
		end: {kind: 'deadline'},
		sent: ['run'],
	},
	{
		title: 'a broker connection that fails before the request goes: unreachable',
		async drive() {},
		end: {kind: 'unreachable', reason: 'the broker connection failed: connection closed'},
		sent: [],
	},
	{
		title: 'a describe: its signed description ends it; a second exchange of the same request is refused while it runs',
		request: {type: 'describe', id},
		async drive({agent, deliver}) {
			await wait(20);
			deliver(agent(0).seal({type: 'description', id, agent: {name: 'web1', tags: {site: 'lyon'}}, scripts: [{name: 'hello', description: 'says hello', timeoutSeconds: 30}]}));
		},
		end: {kind: 'terminal', frame: {type: 'description', v: 1, id, agent: {name: 'web1', tags: {site: 'lyon'}}, scripts: [{name: 'hello', description: 'says hello', timeoutSeconds: 30}]} as ResponseFrame},
		sent: ['describe'],
		second: {kind: 'protocol', reason: 'request req-00000001 is already in progress on agent web1'},
	},
	// The signed bytes are copied from the bytes received (bytesAsSent's `data`) when their decoding lost
	// nothing; these rows hold bytes that are not the UTF-8 of the text they decode to, and end as
	// they did when the bytes were the text encoded again.
	{
		title: 'a signed result with one byte replaced by one that is not UTF-8 (its text reads U+FFFD there): refused, as a forged signature',
		async drive({agent, deliverBytes}) {
			deliverBytes(replaced(agent(0).seal(result), '"status":"o', 0xFF));
		},
		end: {kind: 'protocol', reason: 'over the relay: a reply\'s signature does not verify with agent web1\'s certificate'},
		sent: ['run'],
	},
	{
		title: 'an unsigned chunk with one byte replaced by one that is not UTF-8: its hash is not the one the signed result chains to, a gap',
		async drive({agent, deliver, deliverBytes}) {
			const sealer = agent(0);
			deliver(sealer.seal({type: 'ack', id, found: true}));
			deliverBytes(replaced(sealer.seal({type: 'stdout', id, data: 'one\n'}), '"data":"o', 0xFF));
			deliver(sealer.seal(result));
		},
		end: {kind: 'protocol', reason: 'over the relay: a gap in the agent\'s replies: expected reply 3, got 3 chained to another reply (replies were dropped, reordered or altered on the way)'},
		sent: ['run'],
	},
	{
		title: 'a signed result whose U+FFFD (the agent\'s bytes EF BF BD) came as one byte that is not UTF-8: the same text, taken as before',
		async drive({agent, deliverBytes}) {
			const text = agent(0).seal({...result, reason: 'a \uFFFD b'});
			const data = Buffer.from(text);
			const at = data.indexOf(Buffer.from('\uFFFD'));
			deliverBytes(Buffer.concat([data.subarray(0, at), Buffer.from([0xFF]), data.subarray(at + 3)]));
		},
		end: {kind: 'terminal', frame: decoded({...result, reason: 'a \uFFFD b'})},
		sent: ['run'],
	},
	{
		title: 'a signed result after a byte-order mark (which the decoder drops): taken as before',
		async drive({agent, deliverBytes}) {
			deliverBytes(Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(agent(0).seal(result))]));
		},
		end: {kind: 'terminal', frame: decoded(result)},
		sent: ['run'],
	},
];

/** The message's bytes with the last byte of `after`'s first place replaced by `byte`. */
function replaced(text: string, after: string, byte: number): Buffer {
	const data = Buffer.from(text);
	const at = data.indexOf(after);
	if (at < 0) {
		throw new Error(`no ${after} in the message`);
	}

	data[at + after.length - 1] = byte;
	return data;
}

for (const c of cases) {
	test(c.title, async t => {
		const held = heldConnection();
		if (c.title.startsWith('a broker connection that fails')) {
			held.state.down = true;
		}

		const link = await openRelayLink({url: 'nats://in-test', credentials, now: () => clock, connect: (async () => held.connection) as never});
		const abort = new AbortController();
		const frames: string[] = [];
		const notices: string[] = [];
		const sealers = new Map<string, ReplySealer>();
		const request = c.request ?? run;
		const ending = link.exchange(target, request, {
			connectTimeoutMs: 400,
			deadlineMs: 5000,
			statusAfterMs: 1000,
			cancel: {signal: abort.signal, caller: 'alice', graceMs: 200},
			onNotice: notice => notices.push(notice),
			onFrame(frame) {
				frames.push(frame.type === 'stdout' || frame.type === 'stderr' ? `${frame.type} ${frame.data}` : frame.type);
			},
			...c.options,
		});
		const second = c.second ? await link.exchange(target, request, {connectTimeoutMs: 400, deadlineMs: 5000}) : undefined;
		await wait(5);
		const driver: Driver = {
			sent: held.sent,
			agent(index, as = web1) {
				const sent = held.sent[index]!;
				const key = `${index} ${as.serial}`;
				let sealer = sealers.get(key);
				if (!sealer) {
					sealer = new ReplySealer({id, hash: sent.hash, run: sent.env.body.type === 'run'}, {name: 'web1', serial: as.serial, signer: () => as.signer}, () => clock);
					sealers.set(key, sealer);
				}

				return sealer;
			},
			deliver: held.deliver,
			deliverBytes: held.deliverBytes,
			abort: () => abort.abort(),
			brokerDown() {
				held.state.down = true;
			},
			async published(count) {
				while (held.sent.length < count) {
					await wait(5);
				}
			},
		};
		await c.drive(driver);
		const end = await ending;
		t.is(JSON.stringify(end), JSON.stringify(c.end), 'the end exactly, keys in order');

		t.deepEqual(held.sent.map(each => each.env.body.type), c.sent);
		t.deepEqual(frames, c.frames ?? []);
		t.deepEqual(notices, c.notices ?? []);
		if (c.second) {
			t.deepEqual(second, c.second);
		}

		for (const [index, each] of held.sent.entries()) {
			const {nonce, seq, ...fields} = each.env;
			t.regex(nonce, /^[\da-f]{32}$/);
			t.is(seq, (clock * 1000) + index, 'sequence numbers from the clock, one up per envelope');
			t.deepEqual(Object.keys(fields).sort(), [...each.env.body.type === 'run' ? ['agent', 'body', 'exp', 'fleet', 'iat', 'id', 'kind', 'probe', 'serial', 'v'] : ['agent', 'body', 'exp', 'fleet', 'iat', 'id', 'kind', 'serial', 'v']]);
			t.like(fields, {v: 1, kind: 'request', id, agent: 'web1', serial: controller.serial, iat: clock, exp: clock + 60_000});
			t.is(each.subject, relaySubjects.requests('web1'));
		}

		if (held.sent[0]?.env.body.type === 'run') {
			t.deepEqual(held.sent[0].env.body, {type: 'run', script: 'hello', args: ['a'], caller: 'alice', timeoutMs: 1000});
		}

		await link.close();
	});
}
