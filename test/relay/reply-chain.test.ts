/**
 * The controller's checks on replies over the broker, as a table: a reply chain the agent signed,
 * and what a broker could do to it (drop, reorder, duplicate, alter, forge, answer as another
 * agent, replay a revoked agent's replies).
 */
import test from 'ava';
import {ReplySealer} from '../../agent/relay-sealer.js';
import {envelopeHash, requestEnvelope, sealMessage, type ReplyBody, type ReplyEnvelope} from '../../source/protocol/relay-envelope.js';
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
	{type: 'started', id},
	{type: 'stdout', id, data: 'one\n'},
	{type: 'stdout', id, data: 'two\n'},
	{type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 8, stderr: 0}},
];

function replies(agent: Holder = web1, name = 'web1', hash = requestHash): string[] {
	const sealer = new ReplySealer({id, hash}, {name, serial: agent.serial, signer: () => agent.signer}, () => now.getTime());
	return bodies.map(body => sealer.seal(body));
}

function chains(revoked?: ReadonlySet<string>): ReplyChains {
	const verifier = new ReplyChains(id, {name: 'web1', serial: web1.serial, certificate: web1.certificate, ...(revoked ? {revoked} : {})});
	verifier.expect(requestHash);
	return verifier;
}

const kinds = (verdicts: ReplyVerdict[]) => verdicts.map(verdict => (verdict.kind === 'frame' ? verdict.frame.type : verdict.kind === 'refused' || verdict.kind === 'unrelated' ? `${verdict.kind}: ${verdict.reason}` : verdict.kind));

test('a signed chain from the agent is accepted in order', t => {
	const verifier = chains();
	t.deepEqual(kinds(replies().map(text => verifier.accept(text))), ['started', 'stdout', 'stdout', 'result']);
});

type Case = {title: string; deliver: (chain: string[]) => string[]; expected: string[]; revoked?: string[]};

const gap = (expected: number, got: number, other = '') => `refused: a gap in the agent's replies: expected reply ${expected}, got ${got}${other} (replies were dropped, reordered or altered on the way)`;

const alter = (text: string) => {
	const message = JSON.parse(text) as {env: ReplyEnvelope};
	if (message.env.body.type === 'stdout') {
		message.env.body.data = 'rm -rf\n';
	}

	return JSON.stringify(message);
};

const cases: Case[] = [
	{title: 'a duplicated output chunk is dropped and counted, the output stays right', deliver: ([a, b, c, d]) => [a!, b!, b!, c!, d!], expected: ['started', 'stdout', 'duplicate', 'stdout', 'result']},
	{title: 'reordered output chunks are a gap', deliver: ([a, b, c, d]) => [a!, c!, b!, d!], expected: ['started', gap(2, 3), 'stdout', gap(3, 4)]},
	{title: 'a dropped output chunk is a gap at the next reply', deliver: ([a, , c, d]) => [a!, c!, d!], expected: ['started', gap(2, 3), gap(2, 4)]},
	{title: 'an altered output chunk fails its signature', deliver: ([a, b, c, d]) => [a!, alter(b!), c!, d!], expected: ['started', 'refused: a reply\'s signature does not verify with agent web1\'s certificate', gap(2, 3), gap(2, 4)]},
	{title: 'replies signed by another agent\'s key under this agent\'s serial fail their signature', deliver: () => replies(web2, 'web1').map(text => text.replace(web2.serial, web1.serial)), expected: Array(4).fill('refused: a reply\'s signature does not verify with agent web1\'s certificate') as string[]},
	{title: 'replies from another agent for this request are refused', deliver: () => replies(web2, 'web2'), expected: Array(4).fill('refused: a reply signed as agent web2 arrived for agent web1') as string[]},
	{title: 'replies under a revoked serial are refused', deliver: chain => chain, revoked: [web1.serial], expected: Array(4).fill(`refused: the reply names agent certificate serial ${web1.serial}, which is revoked`) as string[]},
	{title: 'replies from a certificate the registry does not hold are refused', deliver: () => replies(web1Again), expected: Array(4).fill(`refused: the reply names agent certificate serial ${web1Again.serial}; the registry holds ${web1.serial}`) as string[]},
	{title: 'replies to a request envelope this exchange did not send are set aside', deliver: () => replies(web1, 'web1', 'cd'.repeat(32)).slice(0, 1), expected: ['unrelated: a signed reply to a request envelope this exchange did not send (a replayed request)']},
	{title: 'a reply whose chain link was rewritten fails its signature', deliver: ([a, b]) => [a!, b!, replies()[2]!.replace(/"prev":"[\da-f]+"/, `"prev":"${'ef'.repeat(32)}"`)], expected: ['started', 'stdout', 'refused: a reply\'s signature does not verify with agent web1\'s certificate']},
	{title: 'a reply that is not JSON is refused', deliver: () => ['{"env":'], expected: ['refused: the agent\'s reply is malformed: message is not JSON (Unexpected end of JSON input)']},
];

for (const c of cases) {
	test(c.title, t => {
		const verifier = chains(c.revoked ? new Set(c.revoked) : undefined);
		t.deepEqual(kinds(c.deliver(replies()).map(text => verifier.accept(text))), c.expected);
	});
}

test('a reply to another request id is unrelated, whoever signed it', t => {
	const other = new ReplySealer({id: 'req-00000002', hash: requestHash}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	t.deepEqual(kinds([chains().accept(other.seal({type: 'started', id: 'req-00000002'}))]), ['unrelated: a reply to request req-00000002, not req-00000001']);
});

test('a reply whose frame names another request than its envelope is refused', t => {
	const sealer = new ReplySealer({id, hash: requestHash}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	t.deepEqual(kinds([chains().accept(sealer.seal({type: 'started', id: 'req-00000009'}))]), ['refused: the reply\'s frame names request req-00000009, not req-00000001']);
});

test('the replies to a cancel have their own chain beside the run\'s', t => {
	const cancel = requestEnvelope({...request, seq: 2, body: {type: 'cancel', caller: 'alice'}});
	const verifier = chains();
	verifier.expect(envelopeHash(cancel));
	const run = replies();
	const ack = new ReplySealer({id, hash: envelopeHash(cancel)}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime()).seal({type: 'ack', id, found: true});
	t.deepEqual(kinds([run[0]!, ack, run[1]!, run[2]!, run[3]!].map(text => verifier.accept(text))), ['started', 'ack', 'stdout', 'stdout', 'result']);
});

test('sealMessage signs what signedBytes covers: re-serialising a reply keeps it valid', t => {
	const [first] = replies();
	const reordered = JSON.parse(first!) as {env: ReplyEnvelope; sig: string};
	const shuffled = JSON.stringify({sig: reordered.sig, env: Object.fromEntries(Object.entries(reordered.env).reverse())});
	t.deepEqual(kinds([chains().accept(shuffled)]), ['started']);
	t.truthy(sealMessage);
});
