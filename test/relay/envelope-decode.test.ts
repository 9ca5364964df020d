/**
 * A relay message is parsed once and its envelope canonicalised once on each side: the sender
 * writes the canonical bytes it signs into the message, and the receiver decodes the frame from
 * the body it parsed with the message rather than writing the frame's line and parsing it again.
 * These tables hold that to the line's decoding: every body, valid or not, decodes to the very
 * same frame or the very same protocol error both ways, and a sealed message is the envelope's
 * signed bytes verbatim.
 */
import {createHash, createPublicKey, sign, verify, type KeyObject} from 'node:crypto';
import test from 'ava';
import canonicalize from 'canonicalize';
import {decodeRequest, decodeResponse} from '../../source/protocol/decode.js';
import {limits} from '../../source/protocol/frames.js';
import {bytesAsSent, certificateKey, newNonce, decodeReplyEnvelope, decodeRequestEnvelope, envelopeHash, replyLine, requestEnvelope, requestLine, sealEnvelope, signatureValid, signedBytes, type ReplyBody, type ReplyEnvelope, type RequestBody, type RequestEnvelope} from '../../source/protocol/relay-envelope.js';
import {mintAuthority, now} from '../pki/mint.js';
import {fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const id = 'req-00000001';
const head = {log: 'controller', seq: 3, hash: 'ab'.repeat(32), signature: 'c2ln', keyId: 'k1'};

/** What a receiver holds: the envelope as JSON.parse gives it back from the message. */
const received = <E>(env: E): E => (JSON.parse(sealEnvelope(env as RequestEnvelope, controller.signer).text) as {env: E}).env;
const request = (body: Record<string, unknown>, fields: Partial<RequestEnvelope> = {}) => received(requestEnvelope({id, seq: 1, agent: 'web1', fleet: fleetHash(fleet), serial: controller.serial, iat: now.getTime(), body: body as RequestBody, ...fields}));
const reply = (body: Record<string, unknown>) => received<ReplyEnvelope>({v: 1, kind: 'reply', id, seq: 1, agent: 'web1', serial: web1.serial, req: 'cd'.repeat(32), prev: 'cd'.repeat(32), iat: now.getTime(), body: body as ReplyBody});

const requests: Array<[string, RequestEnvelope]> = [
	['a run', request({type: 'run', script: 'hello', args: ['a b', 'é', '\u0001'], caller: 'alice', dryRun: true, timeoutMs: 5000})],
	['a run with the controller\'s audit head', request({type: 'run', script: 'hello', args: [], caller: 'alice'}, {head})],
	['a describe holding its connection', request({type: 'describe', keepOpen: true})],
	['a cancel', request({type: 'cancel', caller: 'bob'})],
	['a status question', request({type: 'status', caller: 'bob'})],
	['a pin', request({type: 'pin', caller: 'bob', serial: 'ab12'})],
	['a certificate that is not PEM', request({type: 'certificate', certificate: 'nope'})],
	['an unknown type', request({type: 'shell', command: 'id'})],
	['a run whose args are a string', request({type: 'run', script: 'hello', args: 'a b', caller: 'alice'})],
	['a run without a caller', request({type: 'run', script: 'hello', args: []})],
	['a run with a NUL in its script name', request({type: 'run', script: 'he\u0000llo', args: [], caller: 'alice'})],
	['a run with an unknown field', request({type: 'run', script: 'hello', args: [], caller: 'alice', extra: {deep: [1, 2]}})],
	['a nonce that is not a message id', request({type: 'describe'}, {nonce: 'zz'})],
];

for (const [title, env] of requests) {
	test(`a request's frame decodes as its line does: ${title}`, t => {
		const line = decodeRequest(requestLine(env));
		t.deepEqual(decodeRequestEnvelope(env, 1000), line, 'parsed once');
		t.deepEqual(decodeRequestEnvelope(env, undefined), line, 'its line');
	});
}

const replies: Array<[string, ReplyEnvelope]> = [
	['an ack', reply({type: 'ack', id, found: true})],
	['started', reply({type: 'started', id})],
	['output', reply({type: 'stdout', id, data: 'hé\n\u0000'})],
	['a result', reply({type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 12, truncated: false, bytes: {stdout: 3, stderr: 0}, agentHead: head})],
	['a dry run\'s result', reply({type: 'result', id, status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run'})],
	['an error', reply({type: 'error', id, code: 'denied', message: 'refused: no'})],
	['an error with an unknown code', reply({type: 'error', id, code: 'weird', message: 'x'})],
	['a description', reply({type: 'description', id, agent: {name: 'web1', tags: {site: 'lyon'}}, scripts: [{name: 'hello', description: 'says hello'}]})],
	['a result with a status it cannot have', reply({type: 'result', id, status: 'maybe'})],
	['an unknown type', reply({type: 'shell', id})],
	['an ack with found a string', reply({type: 'ack', id, found: 'yes'})],
];

for (const [title, env] of replies) {
	test(`a reply's frame decodes as its line does: ${title}`, t => {
		const line = decodeResponse(replyLine(env));
		t.deepEqual(decodeReplyEnvelope(env, 1000), line, 'parsed once');
		t.deepEqual(decodeReplyEnvelope(env, limits.responseFrameBytes + 1), line, 'its line');
	});
}

test('a reply message over a frame\'s limit has its frame held to the limit', t => {
	const env = reply({type: 'stdout', id, data: 'x'.repeat(limits.responseFrameBytes)});
	const message = sealEnvelope(env, web1.signer).text;
	t.deepEqual(decodeReplyEnvelope(env, Buffer.byteLength(message)), {ok: false, error: {code: 'too-large', message: `frame is larger than ${limits.responseFrameBytes} bytes`, id: '-'}});
});

test('a sealed message holds the envelope as its signed bytes, verbatim; its hash and signature are over them', t => {
	const env = request({type: 'run', script: 'hello', args: ['é', '"quoted"', '\u2028'], caller: 'alice'}, {head});
	const {text, hash} = sealEnvelope(env, controller.signer);
	const message = JSON.parse(text) as {env: RequestEnvelope; sig: string; cert: string};
	t.deepEqual(Object.keys(message), ['env', 'sig', 'cert']);
	t.deepEqual(message.env, env);
	t.is(`xi-exec relay v1\n${text.slice('{"env":'.length, text.indexOf(',"sig":"'))}`, signedBytes(env).toString());
	t.is(hash, envelopeHash(env));
	t.is(hash, createHash('sha256').update(signedBytes(message.env)).digest('hex'));
	t.true(signatureValid(message.env, message.sig, controller.certificate));
	t.is(message.cert, controller.der.toString('base64'));
	const unsigned = sealEnvelope(env);
	t.deepEqual(JSON.parse(unsigned.text), {env});
	t.is(unsigned.hash, hash);
});

test('the signed bytes are read from a message laid out as sealed, as they arrived; another layout or a surrogate escape is canonicalised instead', t => {
	const env = request({type: 'run', script: 'hello', args: ['é', '"quoted"', '\u2028', '😀'], caller: 'alice'}, {head});
	const signedRequest = sealEnvelope(env, controller.signer).text;
	const parsed = JSON.parse(signedRequest) as {sig: string; cert: string};
	t.deepEqual(bytesAsSent(signedRequest, parsed.sig, parsed.cert), signedBytes(env), 'a signed request with its certificate');
	const result = reply({type: 'result', id, status: 'ok', exitCode: 0, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 0, stderr: 0}});
	const signedReply = sealEnvelope(result, {key: web1.signer.key}).text;
	t.deepEqual(bytesAsSent(signedReply, (JSON.parse(signedReply) as {sig: string}).sig, undefined), signedBytes(result), 'a signed reply');
	const chunk = reply({type: 'stdout', id, data: 'one\n'});
	t.deepEqual(bytesAsSent(sealEnvelope(chunk).text, undefined, undefined), signedBytes(chunk), 'an unsigned reply');
	t.is(bytesAsSent(JSON.stringify({sig: parsed.sig, env, cert: parsed.cert}), parsed.sig, parsed.cert), undefined, 'another layout');
	t.is(bytesAsSent(signedRequest, parsed.sig, undefined), undefined, 'a tail other than the parsed signature and certificate');
	t.is(bytesAsSent(signedRequest.replace('"hello"', '"hel\\ud83dlo"'), parsed.sig, parsed.cert), undefined, 'a surrogate escape');
	// With the bytes the text was decoded from: copied from them when the decoding lost nothing, the same bytes either way.
	t.deepEqual(bytesAsSent(signedRequest, parsed.sig, parsed.cert, Buffer.from(signedRequest)), signedBytes(env), 'a signed request, from its bytes');
	t.deepEqual(bytesAsSent(signedReply, (JSON.parse(signedReply) as {sig: string}).sig, undefined, Buffer.from(signedReply)), signedBytes(result), 'a signed reply, from its bytes');
	t.deepEqual(bytesAsSent(sealEnvelope(chunk).text, undefined, undefined, Buffer.from(sealEnvelope(chunk).text)), signedBytes(chunk), 'an unsigned reply, from its bytes');
	const lossy = Buffer.from(signedReply.replace('"ok"', '"o\uFFFD"'));
	lossy.set([0xFF, 0x20, 0x20], lossy.indexOf('\uFFFD'));
	const lossyText = new TextDecoder().decode(lossy);
	t.deepEqual(bytesAsSent(lossyText, (JSON.parse(signedReply) as {sig: string}).sig, undefined, lossy), Buffer.from(`xi-exec relay v1\n${lossyText.slice(7, lossyText.indexOf(',"sig":'))}`), 'bytes that are not UTF-8: the text encoded again, not the bytes');
});

test('an agent certificate\'s key made from its P-256 point is the key its certificate holds; other PEM takes the parser', t => {
	for (const certificate of [web1.certificate, controller.certificate]) {
		const spki = (key: KeyObject) => key.export({type: 'spki', format: 'der'});
		t.deepEqual(spki(certificateKey(certificate)), spki(createPublicKey(certificate)));
		const publicKeyPem = createPublicKey(certificate).export({type: 'spki', format: 'pem'}).toString();
		t.deepEqual(spki(certificateKey(publicKeyPem)), spki(createPublicKey(certificate)), 'a PEM public key');
	}

	const message = Buffer.from('signed');
	t.true(verify('sha256', message, certificateKey(web1.certificate), sign('sha256', message, web1.signer.key)));
});

test('nonces are 32 hex digits, each new', t => {
	const nonces = Array.from({length: 1000}, () => newNonce());
	t.true(nonces.every(nonce => /^[\da-f]{32}$/.test(nonce)));
	t.is(new Set(nonces).size, nonces.length);
});


test('a sealed request is laid out as before: its canonical envelope, its signature, its signer\'s own certificate (made once per signer, never another\'s)', async t => {
	const other = await holder(fleet, {role: 'controller'});
	const env = request({type: 'describe'});
	for (const signer of [controller.signer, other.signer, controller.signer]) {
		const {text, hash} = sealEnvelope(env, signer);
		const parsed = JSON.parse(text) as {sig: string; cert: string};
		t.is(text, `{"env":${canonicalize(env)!},"sig":"${parsed.sig}","cert":"${signer.certificateDer!.toString('base64')}"}`);
		t.true(signatureValid(env, parsed.sig, signer === controller.signer ? controller.certificate : other.certificate));
		t.is(hash, envelopeHash(env));
	}

	t.is(sealEnvelope(env).text, `{"env":${canonicalize(env)!}}`, 'unsigned: the envelope alone');
	t.throws(() => sealEnvelope({...env, body: {type: 'run', script: 'a\ud800', args: [], caller: 'alice'}} as RequestEnvelope, controller.signer), {message: 'Lone surrogate is not allowed'});
});
