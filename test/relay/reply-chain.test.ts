/**
 * The controller's checks on replies over the broker, as a table: a run's reply chain as the agent
 * sends it (its first ack, started and output unsigned, the result signed), and what a broker could
 * do to it (drop, reorder, duplicate, alter, forge, strip a signature, answer as another agent,
 * replay a revoked agent's replies). Unsigned replies are held (`pending`) and handed on only with
 * the signed reply that covers them; a verdict `frames` lists what was handed on.
 */
import test from 'ava';
import canonicalize from 'canonicalize';
import {ReplySealer} from '../../agent/relay-sealer.js';
import {envelopeHash, requestEnvelope, sealEnvelope, sealMessage, type ReplyBody, type ReplyEnvelope} from '../../source/protocol/relay-envelope.js';
import {ReplyChains, type ReplyVerdict} from '../../source/relay/reply-chain.js';
import {mintAuthority, now} from '../pki/mint.js';
import {fleetHash, holder, type Holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const web2 = await holder(fleet, {role: 'agent', name: 'web2'});
const web1Again = await holder(fleet, {role: 'agent', name: 'web1'});
const id = 'req-00000001';
const request = requestEnvelope({id, seq: 1, agent: 'web1', fleet: fleetHash(fleet), serial: controller.serial, iat: now.getTime(), body: {type: 'run', script: 'hello', args: [], caller: 'alice'}});
const requestHash = envelopeHash(request);

const bodies: ReplyBody[] = [
	{type: 'ack', id, found: true},
	{type: 'started', id},
	{type: 'stdout', id, data: 'one\n'},
	{type: 'stdout', id, data: 'two\n'},
	{type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 8, stderr: 0}},
];

const sealerOf = (agent: Holder = web1, name = 'web1', hash = requestHash) => new ReplySealer({id, hash, run: true}, {name, serial: agent.serial, signer: () => agent.signer}, () => now.getTime());

function replies(agent: Holder = web1, name = 'web1', hash = requestHash): string[] {
	const sealer = sealerOf(agent, name, hash);
	return bodies.map(body => sealer.seal(body));
}

function chains(revoked?: ReadonlySet<string>): ReplyChains {
	const verifier = new ReplyChains(id, {name: 'web1', serial: web1.serial, certificate: web1.certificate, ...(revoked ? {revoked} : {})});
	verifier.expect(requestHash);
	return verifier;
}

const describe = (verdict: ReplyVerdict) => {
	switch (verdict.kind) {
		case 'frames': {
			return verdict.frames.map(frame => (frame.type === 'stdout' ? `stdout ${frame.data.trim()}` : frame.type)).join(', ');
		}

		case 'refused':
		case 'unrelated': {
			return `${verdict.kind}: ${verdict.reason}`;
		}

		default: {
			return verdict.kind;
		}
	}
};

const kinds = (verdicts: ReplyVerdict[]) => verdicts.map(verdict => describe(verdict));
const whole = 'ack, started, stdout one, stdout two, result';

test('the agent signs only the result; the chain is handed on whole once its signature verifies', t => {
	const sent = replies().map(text => JSON.parse(text) as {sig?: string; env: ReplyEnvelope});
	t.deepEqual(sent.map(message => [message.env.body.type, message.sig !== undefined]), [['ack', false], ['started', false], ['stdout', false], ['stdout', false], ['result', true]]);
	const verifier = chains();
	t.deepEqual(kinds(replies().map(text => verifier.accept(text))), ['pending', 'pending', 'pending', 'pending', whole]);
});

type Case = {title: string; deliver: (chain: string[]) => string[]; expected: string[]; revoked?: string[]};

const gap = (expected: number, got: number, other = '') => `refused: a gap in the agent's replies: expected reply ${expected}, got ${got}${other} (replies were dropped, reordered or altered on the way)`;
const badSignature = 'refused: a reply\'s signature does not verify with agent web1\'s certificate';

const parse = (text: string) => JSON.parse(text) as {env: ReplyEnvelope; sig?: string};
const alter = (text: string) => {
	const message = parse(text);
	if (message.env.body.type === 'stdout') {
		message.env.body.data = 'rm -rf\n';
	}

	return JSON.stringify(message);
};

/** A message written as the agent's sealer lays it out: the envelope's canonical JSON, then its signature. */
const asSealed = (message: {env: ReplyEnvelope; sig?: string}) => `{"env":${canonicalize(message.env)!}${message.sig === undefined ? '' : `,"sig":"${message.sig}"`}}`;

/** A broker that alters the first chunk and rewrites every later link to match (`write`: how it writes each message). */
const rechainedAs = (write: (message: {env: ReplyEnvelope; sig?: string}) => string) => (chain: string[]) => {
	const messages = chain.map(text => parse(text));
	messages[2]!.env.body = {type: 'stdout', id, data: 'rm -rf\n'};
	for (let index = 3; index < messages.length; index++) {
		messages[index]!.env.prev = envelopeHash(messages[index - 1]!.env);
	}

	return messages.map(message => write(message));
};

const unsign = (text: string) => JSON.stringify({env: parse(text).env});

const cases: Case[] = [
	{title: 'a duplicated output chunk is dropped and counted, the output stays right', deliver: ([a, b, c, d, e]) => [a!, b!, c!, c!, d!, e!], expected: ['pending', 'pending', 'pending', 'duplicate', 'pending', whole]},
	{title: 'reordered output chunks are a gap', deliver: ([a, b, c, d, e]) => [a!, b!, d!, c!, e!], expected: ['pending', 'pending', gap(3, 4), 'pending', gap(4, 5)]},
	{title: 'a dropped output chunk is a gap at the next reply', deliver: ([a, b, , d, e]) => [a!, b!, d!, e!], expected: ['pending', 'pending', gap(3, 4), gap(3, 5)]},
	{title: 'an altered output chunk breaks the chain at the next reply', deliver: ([a, b, c, d, e]) => [a!, b!, alter(c!), d!, e!], expected: ['pending', 'pending', 'pending', gap(4, 4, ' chained to another reply'), gap(4, 5)]},
	{title: 'an altered output chunk with the chain rewritten after it, written canonically: only the result\'s signature can tell, and it fails: nothing is handed on', deliver: rechainedAs(asSealed), expected: ['pending', 'pending', 'pending', 'pending', badSignature]},
	// The controller hashes a message's envelope as its bytes arrived: bytes that are not the canonical JSON an agent writes break the chain at once.
	{title: 'an altered output chunk with the chain rewritten after it, written in another key order: a gap at the next reply', deliver: rechainedAs(message => JSON.stringify(message)), expected: ['pending', 'pending', 'pending', gap(4, 4, ' chained to another reply'), badSignature]},
	{title: 'a result with its signature stripped is refused', deliver: chain => [...chain.slice(0, 4), unsign(chain[4]!)], expected: ['pending', 'pending', 'pending', 'pending', 'refused: an unsigned result reply 5 (only a run\'s first acknowledgement, started and output may come unsigned)']},
	{title: 'an acknowledgement other than the first may not come unsigned', deliver: () => [unsign(sealerOf().seal({type: 'started', id})), unsign(sealerOf().seal({type: 'ack', id, found: true}).replace('"seq":1', '"seq":2'))], expected: ['pending', 'refused: an unsigned ack reply 2 (only a run\'s first acknowledgement, started and output may come unsigned)']},
	{title: 'an altered result fails its signature', deliver: chain => [...chain.slice(0, 4), chain[4]!.replace('"status":"ok"', '"status":"failed"')], expected: ['pending', 'pending', 'pending', 'pending', badSignature]},
	{title: 'replies signed by another agent\'s key under this agent\'s serial break the chain, and the result fails its signature', deliver: () => replies(web2, 'web1').map(text => text.replace(web2.serial, web1.serial)), expected: ['pending', gap(2, 2, ' chained to another reply'), gap(2, 3), gap(2, 4), badSignature]},
	{title: 'replies from another agent for this request are refused', deliver: () => replies(web2, 'web2'), expected: Array(5).fill('refused: a reply signed as agent web2 arrived for agent web1') as string[]},
	{title: 'replies under a revoked serial are refused', deliver: chain => chain, revoked: [web1.serial], expected: Array(5).fill(`refused: the reply names agent certificate serial ${web1.serial}, which is revoked`) as string[]},
	{title: 'replies from a certificate the registry does not hold are refused', deliver: () => replies(web1Again), expected: Array(5).fill(`refused: the reply names agent certificate serial ${web1Again.serial}; the registry holds ${web1.serial}`) as string[]},
	{title: 'replies to a request envelope this exchange did not send are set aside', deliver: () => replies(web1, 'web1', 'cd'.repeat(32)).slice(3), expected: ['unrelated: an unsigned reply to a request envelope this exchange did not send (a replayed request)', 'unrelated: a signed reply to a request envelope this exchange did not send (a replayed request)']},
	{title: 'an unsigned reply whose chain link was rewritten is a gap', deliver: ([a, b, c]) => [a!, b!, c!.replace(/"prev":"[\da-f]+"/, `"prev":"${'ef'.repeat(32)}"`)], expected: ['pending', 'pending', gap(3, 3, ' chained to another reply')]},
	{title: 'a signed reply whose chain link was rewritten fails its signature', deliver: chain => [...chain.slice(0, 4), chain[4]!.replace(/"prev":"[\da-f]+"/, `"prev":"${'ef'.repeat(32)}"`)], expected: ['pending', 'pending', 'pending', 'pending', badSignature]},
	{title: 'a reply that is not JSON is refused', deliver: () => ['{"env":'], expected: ['refused: the agent\'s reply is malformed: message is not JSON (Unexpected end of JSON input)']},
];

for (const c of cases) {
	test(c.title, t => {
		const verifier = chains(c.revoked ? new Set(c.revoked) : undefined);
		t.deepEqual(kinds(c.deliver(replies()).map(text => verifier.accept(text))), c.expected);
	});
}

test('a chain gone quiet on an unsigned reply: its signed copy hands on what it covers, once', t => {
	const sealer = sealerOf();
	const [ack, started] = [sealer.seal(bodies[0]!), sealer.seal(bodies[1]!)];
	const signedStarted = sealer.signHead()!;
	t.is(sealer.signHead(), undefined, 'the copy is owed once');
	const verifier = chains();
	t.deepEqual(kinds([ack, started, signedStarted, signedStarted].map(text => verifier.accept(text))), ['pending', 'pending', 'ack, started', 'duplicate']);
	t.deepEqual(kinds([sealer.seal(bodies[2]!), sealer.seal(bodies[3]!), sealer.seal(bodies[4]!)].map(text => verifier.accept(text))), ['pending', 'pending', 'stdout one, stdout two, result']);
});

test('a signed copy of an earlier held reply, late on the broker, hands on the replies up to it', t => {
	const sealer = sealerOf();
	const ack = sealer.seal(bodies[0]!);
	const signedAck = sealer.signHead()!;
	const [started, one] = [sealer.seal(bodies[1]!), sealer.seal(bodies[2]!)];
	const verifier = chains();
	t.deepEqual(kinds([ack, started, one, signedAck].map(text => verifier.accept(text))), ['pending', 'pending', 'pending', 'ack']);
	t.deepEqual(kinds([sealer.seal(bodies[3]!), sealer.seal(bodies[4]!)].map(text => verifier.accept(text))), ['pending', 'started, stdout one, stdout two, result']);
});

test('a signed copy altered on the way fails its signature and hands on nothing', t => {
	const sealer = sealerOf();
	const started = [sealer.seal(bodies[0]!), sealer.seal(bodies[1]!)];
	const forged = parse(sealer.signHead()!);
	forged.sig = parse(sealEnvelope({...forged.env, body: {type: 'started', id}}, web2.signer).text).sig!;
	const verifier = chains();
	t.deepEqual(kinds([...started, JSON.stringify(forged)].map(text => verifier.accept(text))), ['pending', 'pending', badSignature]);
});

test('the sealer sends the signed copy of a reply its chain went quiet on, and none once a signed reply followed', async t => {
	const published: string[] = [];
	let quietDone: () => void = () => undefined;
	const quiet = new Promise<void>(resolve => {
		quietDone = resolve;
	});
	const sealer = new ReplySealer({id, hash: requestHash, run: true}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime(), {afterMs: 5, publish(text) {
		published.push(text);
		quietDone();
	}});
	const sent = [sealer.seal(bodies[0]!), sealer.seal(bodies[1]!)];
	// The sealer's timer is unref'd (it must not keep an agent alive): hold the loop open until it fires.
	const keepAlive = setInterval(() => undefined, 1000);
	await quiet;
	clearInterval(keepAlive);
	const verifier = chains();
	t.deepEqual(kinds([...sent, ...published].map(text => verifier.accept(text))), ['pending', 'pending', 'ack, started']);
	// A signed reply right after an unsigned one: the timer finds nothing owed.
	const later = new ReplySealer({id, hash: requestHash, run: true}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime(), {afterMs: 1, publish: text => published.push(text)});
	later.seal(bodies[0]!);
	later.seal(bodies[4]!);
	const count = published.length;
	await new Promise<void>(resolve => {
		setImmediate(resolve);
	});
	t.is(later.signHead(), undefined);
	t.is(published.length, count);
});

test('a reply to another request id is unrelated, whoever signed it', t => {
	const other = new ReplySealer({id: 'req-00000002', hash: requestHash}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	t.deepEqual(kinds([chains().accept(other.seal({type: 'error', id: 'req-00000002', code: 'malformed', message: 'no'}))]), ['unrelated: a reply to request req-00000002, not req-00000001']);
});

test('a reply whose frame names another request than its envelope is refused', t => {
	const sealer = new ReplySealer({id, hash: requestHash}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	t.deepEqual(kinds([chains().accept(sealer.seal({type: 'error', id: 'req-00000009', code: 'malformed', message: 'no'}))]), ['refused: the reply\'s frame names request req-00000009, not req-00000001']);
});

test('the replies to a cancel have their own chain beside the run\'s', t => {
	const cancel = requestEnvelope({...request, seq: 2, body: {type: 'cancel', caller: 'alice'}});
	const verifier = chains();
	verifier.expect(envelopeHash(cancel));
	const run = replies();
	const ack = new ReplySealer({id, hash: envelopeHash(cancel)}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime()).seal({type: 'ack', id, found: true});
	t.true(parse(ack).sig !== undefined, 'a cancel\'s ack is signed');
	t.deepEqual(kinds([run[0]!, run[1]!, ack, run[2]!, run[3]!, run[4]!].map(text => verifier.accept(text))), ['pending', 'pending', 'ack', 'pending', 'pending', whole]);
});

test('sealMessage signs what signedBytes covers: re-serialising a reply keeps it valid', t => {
	const sealer = new ReplySealer({id, hash: requestHash}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	const message = parse(sealer.seal({type: 'error', id, code: 'malformed', message: 'no'}));
	const shuffled = JSON.stringify({sig: message.sig, env: Object.fromEntries(Object.entries(message.env).reverse())});
	t.deepEqual(kinds([chains().accept(shuffled)]), ['error']);
	t.deepEqual(kinds([chains().accept(sealMessage(message.env, web1.signer))]), ['error']);
});
