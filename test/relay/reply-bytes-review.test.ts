/**
 * Review rows (session 15) for the signed bytes copied from the bytes received (fda04ed): each message
 * is given to accept() as the subscription gives it (relay-link.ts), the text decoded from the same
 * bytes by one TextDecoder, so what is verified (the bytes) and what is used (the parsed text) can only
 * differ where the decoding does. Every row must end with the genuine frames handed on, or with a
 * refusal and nothing handed on: never a frame the agent did not sign.
 */
import test from 'ava';
import canonicalize from 'canonicalize';
import {ReplySealer} from '../../agent/relay-sealer.js';
import {envelopeHash, requestEnvelope, type ReplyBody, type ReplyEnvelope} from '../../source/protocol/relay-envelope.js';
import {ReplyChains, type ReplyVerdict} from '../../source/relay/reply-chain.js';
import {mintAuthority, now} from '../pki/mint.js';
import {fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const id = 'req-00000001';
const request = requestEnvelope({id, seq: 1, agent: 'web1', fleet: fleetHash(fleet), serial: controller.serial, iat: now.getTime(), body: {type: 'run', script: 'hello', args: [], caller: 'alice'}});
const requestHash = envelopeHash(request);
const result: ReplyBody = {type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 5, truncated: false, bytes: {stdout: 4, stderr: 0}};
const chunk = (data: string): ReplyBody => ({type: 'stdout', id, data});
const decoder = new TextDecoder();

/** The agent's replies, sealed in order: ack, stdout (the row's data), result. */
function sealed(data = 'one\n'): string[] {
	const sealer = new ReplySealer({id, hash: requestHash, run: true}, {name: 'web1', serial: web1.serial, signer: () => web1.signer}, () => now.getTime());
	return [{type: 'ack', id, found: true} as ReplyBody, chunk(data), result].map(body => sealer.seal(body));
}

/** What the controller hands on (or why not), each message given as bytes the way relay-link.ts does. */
function accepted(messages: Array<string | Uint8Array>): string[] {
	const chains = new ReplyChains(id, {name: 'web1', serial: web1.serial, certificate: web1.certificate});
	chains.expect(requestHash);
	return messages.map(message => {
		const data = typeof message === 'string' ? Buffer.from(message) : message;
		return say(chains.accept(decoder.decode(data), data));
	});
}

const say = (v: ReplyVerdict) => v.kind === 'frames' ? v.frames.map(f => f.type === 'stdout' ? `stdout ${JSON.stringify(f.data)}` : f.type === 'result' ? `result ${f.status}` : f.type).join(', ') : ('reason' in v ? `${v.kind}: ${v.reason}` : v.kind);
const gap = 'refused: a gap in the agent\'s replies: expected reply 3, got 3 chained to another reply (replies were dropped, reordered or altered on the way)';
const badSig = 'refused: a reply\'s signature does not verify with agent web1\'s certificate';
const genuine = ['pending', 'pending', 'ack, stdout "one\\n", result ok'];

/** `text`'s UTF-8 with `from` (first place) replaced by `to`. */
function bytesWith(text: string, from: string, to: number[]): Buffer {
	const data = Buffer.from(text);
	const at = data.indexOf(from);
	if (at < 0) {
		throw new Error(`no ${from}`);
	}

	return Buffer.concat([data.subarray(0, at), Buffer.from(to), data.subarray(at + Buffer.byteLength(from))]);
}

test('baseline: the genuine replies as bytes are taken', t => {
	t.deepEqual(accepted(sealed()), genuine);
});

test('two "env" keys in a signed result, laid out as sealed (the bytes route): refused', t => {
	const [ack, out, signed] = sealed();
	const message = JSON.parse(signed!) as {env: ReplyEnvelope; sig: string};
	const forged = {...message.env, body: {...message.env.body, status: 'failed', exitCode: 1}};
	t.deepEqual(accepted([ack!, out!, `{"env":${canonicalize(message.env)!},"env":${canonicalize(forged)!},"sig":"${message.sig}"}`]), ['pending', 'pending', badSig]);
});

test('a key escaped (\\u0022-style: "\\u0065nv", "st\\u0061tus"): not the sealed layout, canonicalised; only the agent\'s values are taken', t => {
	const [ack, out, signed] = sealed();
	// The same envelope with the message's key and a body key written as escapes: verifies, and is what the agent signed.
	const escaped = signed!.replace('{"env":', '{"\\u0065nv":').replace('"status":', '"st\\u0061tus":');
	t.deepEqual(accepted([ack!, out!, escaped]), genuine);
	// An escaped duplicate key after the genuine one: JSON.parse takes the forged value, which the signature does not cover.
	const forged = signed!.replace('"status":"ok"', '"status":"ok","st\\u0061tus":"failed"');
	t.deepEqual(accepted([ack!, out!, forged]), ['pending', 'pending', badSig]);
});

test('whitespace around or inside the envelope: the agent\'s values, or refused; never altered', t => {
	const [ack, out, signed] = sealed();
	// Outside the sealed layout (a space before it, a newline after): canonicalised, the agent's values.
	for (const text of [` ${signed!}`, `${signed!}\n`]) {
		t.deepEqual(accepted([ack!, out!, text]), genuine, JSON.stringify(text.slice(0, 12)));
	}

	// In the sealed layout, the space is in the bytes the signature must cover: refused.
	for (const text of [signed!.replace('{"env":', '{"env": '), signed!.replace('"status":"ok"', '"status": "ok"')]) {
		t.deepEqual(accepted([ack!, out!, text]), ['pending', 'pending', badSig], JSON.stringify(text.slice(0, 12)));
	}
});

test('number forms in a signed result (0.0, -0, 0e0, 0E+0 for 0), or another value: refused (the bytes must be the agent\'s own)', t => {
	const [ack, out, signed] = sealed();
	for (const form of ['0.0', '-0', '0e0', '0E+0']) {
		const text = signed!.replace('"exitCode":0', `"exitCode":${form}`);
		// Laid out as sealed, the bytes must be the agent's own: another form of the same value is refused.
		t.deepEqual(accepted([ack!, out!, text]), ['pending', 'pending', badSig], form);
	}

	t.deepEqual(accepted([ack!, out!, signed!.replace('"exitCode":0', '"exitCode":1')]), ['pending', 'pending', badSig]);
});

test('an unsigned chunk altered in bytes that do not decode losslessly: a gap, the altered chunk never handed on', t => {
	const [ack, out, signed] = sealed('a"b\n');
	// The agent wrote `a\"b`: an overlong '"' (C0 A2), a CESU surrogate (ED A0 80), a code point past U+10FFFF, a 5-byte form, a lone continuation byte.
	for (const bytes of [[0xC0, 0xA2], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80]]) {
		t.deepEqual(accepted([ack!, bytesWith(out!, 'a\\"b', [0x61, ...bytes, 0x62]), signed!]), ['pending', 'pending', gap], Buffer.from(bytes).toString('hex'));
	}
});

test('an unsigned chunk with a raw NUL or a raw newline in its string: malformed, refused', t => {
	const [ack, out] = sealed('ab\n');
	for (const bytes of [[0x00], [0x0A]]) {
		const got = accepted([ack!, bytesWith(out!, '"ab', [0x22, 0x61, ...bytes, 0x62])]);
		t.is(got[0], 'pending');
		t.regex(got[1]!, /^refused: the agent's reply is malformed: message is not JSON/);
	}
});

test('a BOM or a NUL before the message, or a second message after it: never the agent\'s bytes with other content', t => {
	const [ack, out, signed] = sealed();
	t.deepEqual(accepted([ack!, out!, Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(signed!)])]), genuine);
	t.regex(accepted([ack!, out!, Buffer.concat([Buffer.from([0x00]), Buffer.from(signed!)])])[2]!, /^refused: the agent's reply is malformed: message is not JSON/);
	t.regex(accepted([ack!, out!, `${signed!}${signed!}`])[2]!, /^refused: the agent's reply is malformed: message is not JSON/);
	// A BOM in the middle (U+FEFF is kept by the decoder): not JSON whitespace.
	t.regex(accepted([ack!, out!, signed!.replace('"sig":', '\uFEFF"sig":')])[2]!, /^refused: the agent's reply is malformed: message is not JSON/);
});

test('a lone surrogate escape put into an unsigned chunk or a signed result: refused as malformed (the exchange ends, as for any malformed reply), not thrown out of accept()', t => {
	const [ack, out, signed] = sealed('x\n');
	const refusal = 'refused: the agent\'s reply is malformed: its envelope cannot be canonicalised (Lone surrogate is not allowed)';
	t.deepEqual(accepted([ack!, out!.replace('"data":"x\\n"', '"data":"\\ud800"'), signed!]).slice(1, 2), [refusal]);
	t.deepEqual(accepted([ack!, out!, signed!.replace('"status":"ok"', '"status":"\\udc00"')]), ['pending', 'pending', refusal]);
});
