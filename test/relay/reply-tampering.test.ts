/** Rows the reply-chain table did not have (found in review): a broker or agent that tampers with a reply in ways the table's rows are neighbours of. */
import test from 'ava';
import canonicalize from 'canonicalize';
import {ReplySealer} from '../../agent/relay-sealer.js';
import {envelopeHash, requestEnvelope, sealEnvelope, type ReplyBody, type ReplyEnvelope} from '../../source/protocol/relay-envelope.js';
import {ReplyChains, type ReplyVerdict} from '../../source/relay/reply-chain.js';
import {mintAuthority, now} from '../pki/mint.js';
import {fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const id = 'req-00000001';
const mk = (seq: number) => requestEnvelope({id, seq, agent: 'web1', fleet: fleetHash(fleet), serial: controller.serial, iat: now.getTime(), body: {type: 'run', script: 'hello', args: [], caller: 'alice'}});
const request = mk(1);
const requestHash = envelopeHash(request);
const bodies: ReplyBody[] = [
	{type: 'ack', id, found: true},
	{type: 'started', id},
	{type: 'stdout', id, data: 'one\n'},
	{type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 4, stderr: 0}},
];
const sealer = (hash = requestHash) => new ReplySealer({id, hash, run: true}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
const chains = (revoked?: Set<string>) => {
	const v = new ReplyChains(id, {name: 'web1', serial: web1.serial, certificate: web1.certificate, ...(revoked ? {revoked} : {})});
	v.expect(requestHash);
	return v;
};
const say = (v: ReplyVerdict) => v.kind === 'frames' ? v.frames.map(f => f.type === 'stdout' ? `stdout ${f.data.trim()}` : f.type === 'result' ? `result ${f.status}` : f.type).join(', ') : ('reason' in v ? `${v.kind}: ${v.reason}` : v.kind);
const parse = (text: string) => JSON.parse(text) as {env: ReplyEnvelope; sig?: string};

test('two "env" keys: the genuine signed result first, a forged one second: refused, nothing handed on', t => {
	const s = sealer();
	const sent = bodies.map(b => s.seal(b));
	const genuine = parse(sent[3]!);
	const forged = {...genuine.env, body: {...genuine.env.body, status: 'failed', exitCode: 1}};
	const text = `{"env":${canonicalize(genuine.env)!},"env":${canonicalize(forged)!},"sig":"${genuine.sig!}"}`;
	const v = chains();
	t.deepEqual([...sent.slice(0, 3), text].map(x => say(v.accept(x))), ['pending', 'pending', 'pending', 'refused: a reply\'s signature does not verify with agent web1\'s certificate']);
});

test('two "env" keys in an unsigned chunk (genuine bytes first, a forged chunk parsed): a gap at the signed reply, the forged chunk never handed on', t => {
	const s = sealer();
	const sent = bodies.map(b => s.seal(b));
	const chunk = parse(sent[2]!);
	const forged = {...chunk.env, body: {type: 'stdout', id, data: 'rm -rf /\n'}};
	const text = `{"env":${canonicalize(chunk.env)!},"env":${canonicalize(forged)!}}`;
	const v = chains();
	const got = [sent[0]!, sent[1]!, text, sent[3]!].map(x => say(v.accept(x)));
	t.deepEqual(got.slice(0, 3), ['pending', 'pending', 'pending']);
	t.regex(got[3]!, /^refused: a gap in the agent's replies: expected reply 4, got 4 chained to another reply/);
});

test('the signed copy of a held reply arriving before the reply itself (reordered by the broker): refused as a gap, nothing handed on', t => {
	const s = sealer();
	const ack = s.seal(bodies[0]!);
	const started = s.seal(bodies[1]!);
	const signedStarted = s.signHead()!;
	const v = chains();
	t.deepEqual([signedStarted, ack, started].map(x => say(v.accept(x))), ['refused: a gap in the agent\'s replies: expected reply 1, got 2 (replies were dropped, reordered or altered on the way)', 'pending', 'pending']);
});

test('a revoked serial written in upper case or with a leading zero is still refused', t => {
	const s = sealer();
	const result = s.seal(bodies[0]!);
	for (const serial of [web1.serial.toUpperCase(), `00${web1.serial}`]) {
		const message = parse(result);
		const env = {...message.env, serial};
		const resealed = sealEnvelope(env as never, web1.signer).text;
		const verdict = chains(new Set([web1.serial])).accept(resealed);
		t.is(verdict.kind, 'refused', serial);
	}
});

test('a genuine signed result of an earlier exchange of the same request (its own request envelope) is set aside, not taken', t => {
	const earlier = envelopeHash(mk(1));
	t.not(earlier, requestHash, 'every envelope has its own nonce');
	const s = sealer(earlier);
	const sent = bodies.map(b => s.seal(b));
	const v = chains();
	t.deepEqual(sent.slice(2).map(x => say(v.accept(x))), ['unrelated: an unsigned reply to a request envelope this exchange did not send (a replayed request)', 'unrelated: a signed reply to a request envelope this exchange did not send (a replayed request)']);
});
