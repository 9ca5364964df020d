/**
 * The agent's acceptance of a relay request, as a table: each case is something a broker (or
 * anyone on it) could send, and the exact refusal it gets. The neighbours of each check are
 * there too: a valid certificate with the wrong role, a pinned serial under a foreign CA, an
 * envelope re-signed by someone else, a body changed after signing.
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {acceptRequest, type AcceptContext} from '../../agent/relay-accept.js';
import {RequestGuard} from '../../agent/relay-guard.js';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {replayMemoryFor} from '../../agent/replay-memory.js';
import {limits, type ProtocolErrorCode} from '../../source/protocol/frames.js';
import {requestEnvelope, sealMessage, type RequestBody, type RequestEnvelope, type Signer} from '../../source/protocol/relay-envelope.js';
import {sealArgs} from '../../source/protocol/sealed-args.js';
import {secretArgsOf} from '../../source/protocol/secret-args.js';
import {mintAuthority, now} from '../pki/mint.js';
import {caDer, fleetHash, holder} from './identities.js';

const fleet = await mintAuthority();
const controller = await holder(fleet, {role: 'controller'});
const otherController = await holder(fleet, {role: 'controller'});
const web1 = await holder(fleet, {role: 'agent', name: 'web1'});
const web2 = await holder(fleet, {role: 'agent', name: 'web2'});
const foreign = await mintAuthority('xi-exec fleet CA');
const foreignController = await holder(foreign, {role: 'controller'});
/** This agent's allowlist schemas: set-password's second argument is secret, vault-put's every argument after the first. */
const schemas: Record<string, unknown> = {
	'set-password': {type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}]},
	'vault-put': {type: 'array', prefixItems: [{type: 'string'}], items: {type: 'string', secret: true}},
};
const pins = {caSha256: fleetHash(fleet), controllerSerials: [controller.serial]};
const clock = now.getTime();

const run: RequestBody = {type: 'run', script: 'hello', args: ['a b', '--x'], caller: 'alice'};
let counter = 0;
const envelope = (fields: Partial<RequestEnvelope> = {}): RequestEnvelope => requestEnvelope({
	id: `req-${String(++counter).padStart(8, '0')}`,
	seq: 1,
	agent: 'web1',
	fleet: fleetHash(fleet),
	serial: controller.serial,
	iat: clock,
	body: run,
	...fields,
});
const sealed = (env: RequestEnvelope, signer: Signer = controller.signer) => sealMessage(env, signer);

function context(guard = new RequestGuard(new ReplayGuard(limits.clockSkewMs)), at = clock): AcceptContext {
	return {agentName: 'web1', pins, caDer: caDer(fleet), guard, agentKey: web1.signer.key, secretArgs: script => secretArgsOf(schemas[script]), now: at};
}

test('a request signed by the pinned controller for this agent is accepted as the run frame it carries', t => {
	const env = envelope();
	const verdict = acceptRequest(sealed(env), context());
	t.true(verdict.ok);
	if (verdict.ok) {
		t.deepEqual(verdict.frame, {v: 1, type: 'run', id: env.id, msg: env.nonce, ts: env.iat, script: 'hello', args: ['a b', '--x'], caller: 'alice'});
		t.is(verdict.serial, controller.serial);
	}
});

test('a message over a frame\'s limit whose frame is within it is accepted: only the frame is held to it', t => {
	const args = ['x'.repeat(limits.requestFrameBytes - 400)];
	const message = sealed(envelope({body: {...run, args}}));
	t.true(Buffer.byteLength(message) > limits.requestFrameBytes, 'the message is over a frame\'s limit');
	const verdict = acceptRequest(message, context());
	t.true(verdict.ok && verdict.frame.type === 'run' && verdict.frame.args[0] === args[0]);
});

test('a run with a probe (the controller asks a quiet run for its status) is accepted as the same run frame', t => {
	const env = envelope({probe: true});
	const verdict = acceptRequest(sealed(env), context());
	t.like(verdict, {ok: true, env: {probe: true}, frame: {type: 'run', script: 'hello', args: ['a b', '--x']}});
});

test('the controller audit head in the envelope reaches the run frame', t => {
	const head = {log: 'controller', seq: 3, hash: 'ab'.repeat(32), signature: 'c2ln', keyId: 'k1'};
	const verdict = acceptRequest(sealed(envelope({head})), context());
	t.true(verdict.ok && verdict.frame.type === 'run' && verdict.frame.controllerHead?.seq === 3);
});

test('a request written in another layout (its members reordered) is accepted: its envelope is canonicalised to check it', t => {
	const message = JSON.parse(sealed(envelope())) as Record<string, unknown>;
	const reordered = JSON.stringify({cert: message['cert'], sig: message['sig'], env: message['env']});
	const verdict = acceptRequest(reordered, context());
	t.true(verdict.ok && verdict.frame.type === 'run' && verdict.frame.script === 'hello');
});

type Case = {title: string; message: () => string; code: ProtocolErrorCode; reason: string | RegExp; at?: number};

const tampered = () => {
	const text = sealed(envelope());
	return text.replace('"script":"hello"', '"script":"wipe"');
};

const resigned = () => {
	const env = envelope();
	const message = JSON.parse(sealed(env, otherController.signer)) as {cert: string};
	message.cert = controller.der.toString('base64');
	return JSON.stringify(message);
};

const refusals: Case[] = [
	{title: 'a frame for another agent', message: () => sealed(envelope({agent: 'web2'})), code: 'forbidden', reason: 'the request is for agent web2, not web1'},
	{title: 'a frame for another fleet', message: () => sealed(envelope({fleet: 'ab'.repeat(32)})), code: 'forbidden', reason: 'the request is for another fleet (its CA key hash is not the pinned one)'},
	{title: 'an expired frame', message: () => sealed(envelope({iat: clock - 120_000, exp: clock - 60_000})), code: 'stale', reason: /expired 60 s ago/},
	{title: 'a frame issued ten minutes ago, still claiming to be valid', message: () => sealed(envelope({iat: clock - 600_000, exp: clock + 60_000})), code: 'stale', reason: /issued 600 s away from the agent's clock/},
	{title: 'a frame issued in the future', message: () => sealed(envelope({iat: clock + 600_000})), code: 'stale', reason: /issued -600 s away/},
	{title: 'a frame claiming an hour of life', message: () => sealed(envelope({exp: clock + 3_600_000})), code: 'stale', reason: /claims a lifetime of 3600 s; at most 300 s/},
	{title: 'a body changed after signing', message: tampered, code: 'forbidden', reason: 'the signature does not verify with the controller certificate'},
	// The signed bytes are read as they arrived when the message is laid out as sealed: bytes added after the envelope are signed bytes that do not verify.
	{title: 'a member added between the envelope and its signature', message: () => sealed(envelope()).replace(',"sig":"', ',"script":"wipe","sig":"'), code: 'forbidden', reason: 'the signature does not verify with the controller certificate'},
	{title: 'a body changed after signing, the message written in another layout', message: () => {
		const message = JSON.parse(tampered()) as Record<string, unknown>;
		return JSON.stringify({sig: message['sig'], env: message['env'], cert: message['cert']});
	}, code: 'forbidden', reason: 'the signature does not verify with the controller certificate'},
	{title: 'a frame signed by another key but carrying the pinned certificate', message: resigned, code: 'forbidden', reason: 'the signature does not verify with the controller certificate'},
	{title: 'a frame from a controller certificate that is not pinned', message: () => sealed(envelope({serial: otherController.serial}), otherController.signer), code: 'unpinned', reason: `controller certificate serial ${otherController.serial} is not the pinned one`},
	{title: 'a frame signed by another agent\'s certificate', message: () => sealed(envelope({serial: web2.serial}), web2.signer), code: 'forbidden', reason: 'the peer is agent web2, not the controller'},
	{title: 'a controller certificate from a foreign CA with the fleet CA\'s name', message: () => sealed(envelope({serial: foreignController.serial}), foreignController.signer), code: 'forbidden', reason: 'the peer certificate is not signed by the pinned fleet CA'},
	{title: 'an envelope naming another serial than its certificate', message: () => sealed(envelope({serial: otherController.serial})), code: 'forbidden', reason: `the envelope names controller serial ${otherController.serial}, but carries certificate ${controller.serial}`},
	{title: 'a frame without the controller certificate', message: () => sealed(envelope(), {key: controller.signer.key}), code: 'malformed', reason: 'a request must carry the controller certificate in "cert"'},
	{title: 'a frame that is not JSON', message: () => 'run hello', code: 'malformed', reason: /^message is not JSON/},
	{title: 'a frame of a later envelope version', message: () => sealed({...envelope(), v: 2} as unknown as RequestEnvelope), code: 'malformed', reason: 'envelope version 2 is not supported (this side speaks 1)'},
	{title: 'a reply sent as a request', message: () => sealed({...envelope(), kind: 'reply'} as unknown as RequestEnvelope), code: 'malformed', reason: 'field "kind" must be "request"'},
	{title: 'a body of an unknown type', message: () => sealed(envelope({body: {type: 'shell', command: 'id'} as unknown as RequestBody})), code: 'unknown-type', reason: 'unknown request type "shell"'},
	{title: 'a run whose args are a string', message: () => sealed(envelope({body: {...run, args: 'a b'} as unknown as RequestBody})), code: 'malformed', reason: 'field "args" must be an array of strings'},
	// `probe` says the controller asks a quiet run for its status (the agent may hold the run's ack back): true on a run, or absent.
	{title: 'a probe that is not true', message: () => sealed({...envelope(), probe: 1} as unknown as RequestEnvelope), code: 'malformed', reason: 'field "probe" must be true, and only on a run'},
	{title: 'a probe on a describe', message: () => sealed(envelope({probe: true, body: {type: 'describe'}})), code: 'malformed', reason: 'field "probe" must be true, and only on a run'},
	{title: 'a probe removed after signing', message: () => sealed(envelope({probe: true})).replace('"probe":true,', ''), code: 'forbidden', reason: 'the signature does not verify with the controller certificate'},
	{title: 'a sequence number of zero', message: () => sealed(envelope({seq: 0})), code: 'malformed', reason: 'field "seq" must be a positive integer'},
	{title: 'a frame over the size limit', message: () => sealed(envelope({body: {...run, args: ['x'.repeat(80 * 1024)]}})), code: 'malformed', reason: /^message is larger than/},
	{title: 'a prototype-poisoning key', message: () => sealed(envelope()).replace('"body":{', '"body":{"__proto__":{"x":1},'), code: 'malformed', reason: /__proto__/},
	// JSON can escape a lone surrogate; canonical JSON (RFC 8785) has no bytes for one: refused, never dropped unanswered.
	{title: 'a lone surrogate in the script name', message: () => sealed(envelope()).replace('"script":"hello"', '"script":"hel\\ud800lo"'), code: 'malformed', reason: 'the envelope cannot be canonicalised (Lone surrogate is not allowed)'},
	{title: 'a lone surrogate in an argument', message: () => sealed(envelope()).replace('"a b"', '"a\\udc00b"'), code: 'malformed', reason: 'the envelope cannot be canonicalised (Lone surrogate is not allowed)'},
	// Within the envelope's overhead, the frame it carries is still held to a frame's limit.
	{title: 'a message within the envelope\'s overhead whose frame is over the frame limit', message: () => sealed(envelope({body: {...run, args: ['x'.repeat(limits.requestFrameBytes)]}})), code: 'too-large', reason: `frame is larger than ${limits.requestFrameBytes} bytes`},
	{title: 'the same, its frame over the limit in escaped characters', message: () => sealed(envelope({body: {...run, args: ['\u0001'.repeat(limits.requestFrameBytes / 6)]}})), code: 'too-large', reason: `frame is larger than ${limits.requestFrameBytes} bytes`},
];

for (const c of refusals) {
	test(`refuses ${c.title}`, t => {
		const verdict = acceptRequest(c.message(), context(undefined, c.at));
		t.false(verdict.ok);
		if (!verdict.ok) {
			t.is(verdict.code, c.code);
			if (typeof c.reason === 'string') {
				t.is(verdict.reason, c.reason);
			} else {
				t.regex(verdict.reason, c.reason);
			}
		}
	});
}

test('refuses the same frame twice', t => {
	const guard = new RequestGuard(new ReplayGuard(limits.clockSkewMs));
	const message = sealed(envelope({id: 'req-replayed'}));
	t.true(acceptRequest(message, context(guard)).ok);
	t.like(acceptRequest(message, context(guard, clock + 1000)), {ok: false, code: 'replayed', reason: 'request req-replayed frame 1 arrived after frame 1: replayed or reordered'});
});

test('refuses a frame delivered after a later frame of the same request (a run held back past its cancel)', t => {
	const guard = new RequestGuard(new ReplayGuard(limits.clockSkewMs));
	const first = sealed(envelope({id: 'req-reordered', seq: 1}));
	const cancel = sealed(envelope({id: 'req-reordered', seq: 2, body: {type: 'cancel', caller: 'alice'}}));
	t.true(acceptRequest(cancel, context(guard)).ok);
	t.like(acceptRequest(first, context(guard)), {ok: false, code: 'replayed', reason: 'request req-reordered frame 1 arrived after frame 2: replayed or reordered'});
});

test('refuses a frame replayed after the agent restarted (the seen-set is on disk)', t => {
	const home = mkdtempSync(join(tmpdir(), 'xi-relay-seen-'));
	const start = () => {
		const memory = replayMemoryFor(home, () => clock);
		const seen = new ReplayGuard(limits.clockSkewMs, undefined, memory.memory);
		memory.load(seen);
		const guard = new RequestGuard(seen);
		guard.restore(clock);
		return guard;
	};

	const message = sealed(envelope({id: 'req-restart', seq: 2}));
	t.true(acceptRequest(message, context(start())).ok);
	const afterRestart = start();
	t.like(acceptRequest(message, context(afterRestart, clock + 5000)), {ok: false, code: 'replayed'});
	// The highest sequence survived too: an older frame of that request, never seen, is refused.
	t.like(acceptRequest(sealed(envelope({id: 'req-restart', seq: 1})), context(afterRestart)), {ok: false, code: 'replayed', reason: 'request req-restart frame 1 arrived after frame 2: replayed or reordered'});
});

test('refuses when the seen-set cannot be written, and accepts nothing unremembered', t => {
	const seen = new ReplayGuard(limits.clockSkewMs, undefined, {remember() {
		throw Object.assign(new Error('no space'), {code: 'ENOSPC'});
	}});
	const verdict = acceptRequest(sealed(envelope()), context(new RequestGuard(seen)));
	t.like(verdict, {ok: false, code: 'busy'});
});

const runWith = (args: string[]): RequestBody => ({type: 'run', script: 'hello', caller: 'alice', args});

/** A run whose second argument is sealed to `recipient` for the envelope it will travel in. */
function secretRun(fields: Partial<RequestEnvelope> = {}, recipient = web1.certificate, secret = 'hunter2-secret'): RequestEnvelope {
	const env = envelope(fields);
	const sealedArgs = sealArgs(['alice', secret], [1], recipient, {id: env.id, agent: env.agent, nonce: env.nonce});
	return {...env, sealed: sealedArgs.sealed!, body: runWith(sealedArgs.args)};
}

test('a run\'s sealed secret argument is opened with the agent\'s key and put back in its place', t => {
	const env = secretRun();
	t.deepEqual((env.body as {args: string[]}).args, ['alice', '']);
	const message = sealed(env);
	t.false(message.includes('hunter2-secret'), 'the message on the broker holds no plaintext');
	const verdict = acceptRequest(message, context());
	t.true(verdict.ok);
	t.deepEqual(verdict.ok && verdict.frame.type === 'run' ? verdict.frame.args : undefined, ['alice', 'hunter2-secret']);
});

const sealedRefusals: Array<{title: string; env: () => RequestEnvelope; code: ProtocolErrorCode; reason: string | ((env: RequestEnvelope) => string)}> = [
	{title: 'a sealed blob moved into another envelope of this agent (re-signed by the controller)', env() {
		const original = secretRun();
		return {...envelope(), sealed: original.sealed!, body: original.body};
	}, code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'a sealed blob moved into a new envelope of the same request (a fresh nonce)', env() {
		const original = secretRun();
		return {...original, nonce: 'ab'.repeat(16), seq: 2};
	}, code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'a blob sealed to another agent\'s key, in an envelope for this agent', env: () => secretRun({}, web2.certificate), code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'a blob sealed for agent web2\'s envelope, moved to one for web1', env() {
		const forWeb2 = secretRun({agent: 'web2'}, web2.certificate);
		return {...forWeb2, agent: 'web1'};
	}, code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'sealed positions changed to another argument', env() {
		const original = secretRun();
		return {...original, sealed: {...original.sealed!, positions: [0]}, body: runWith(['', 'alice'])};
	}, code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'a ciphertext altered by one bit', env() {
		const original = secretRun();
		const data = Buffer.from(original.sealed!.data, 'base64');
		data[0]! ^= 1;
		return {...original, sealed: {...original.sealed!, data: data.toString('base64')}};
	}, code: 'forbidden', reason: env => `the sealed arguments of request ${env.id} do not open with agent web1's key (sealed for another request or agent, or altered on the way)`},
	{title: 'a sealed position whose place in args holds a value (a plaintext beside the sealed one)', env() {
		const original = secretRun();
		return {...original, body: runWith(['alice', 'guess'])};
	}, code: 'forbidden', reason: 'sealed argument positions 1 do not match the run\'s 2 arguments (each sealed one must be "")'},
	{title: 'a sealed position past the run\'s arguments', env() {
		const original = secretRun();
		return {...original, body: runWith(['alice'])};
	}, code: 'forbidden', reason: 'sealed argument positions 1 do not match the run\'s 1 arguments (each sealed one must be "")'},
	{title: 'sealed arguments on a cancel', env() {
		const original = secretRun();
		return {...original, body: {type: 'cancel', caller: 'alice'}};
	}, code: 'malformed', reason: 'field "sealed" must be a run\'s sealed arguments {positions, epk, iv, data}'},
	{title: 'sealed positions out of order', env() {
		const original = secretRun();
		return {...original, sealed: {...original.sealed!, positions: [1, 1]}};
	}, code: 'malformed', reason: 'field "sealed" must be a run\'s sealed arguments {positions, epk, iv, data}'},
];

for (const c of sealedRefusals) {
	test(`refuses ${c.title}`, t => {
		const env = c.env();
		const verdict = acceptRequest(sealed(env), context());
		t.like(verdict, {ok: false, code: c.code, reason: typeof c.reason === 'string' ? c.reason : c.reason(env)});
	});
}

/** A run of `script` with `args`, the values at `seal` sealed to this agent for the envelope, and `plain` put in the args afterwards. */
function runSealing(script: string, args: string[], seal: number[], plain: Record<number, string> = {}): RequestEnvelope {
	const env = envelope({body: {type: 'run', script, caller: 'alice', args}});
	const result = sealArgs(args, seal, web1.certificate, {id: env.id, agent: 'web1', nonce: env.nonce});
	const sent = result.args.map((value, index) => plain[index] ?? value);
	return {...env, ...(result.sealed ? {sealed: result.sealed} : {}), body: {type: 'run', script, caller: 'alice', args: sent}};
}

const plaintextRefusal = (which: string, script: string, one = true) => `${which} of ${script} ${one ? 'is' : 'are'} secret on this agent (its allowlist schema) but came in plaintext, not sealed to this agent's key: nothing ran. The broker saw ${one ? 'that value' : 'those values'}: change ${one ? 'it' : 'them'}, then run again (the controller seals what the agent describes as secret)`;

/** The agent's own rule: what its allowlist marks secret must come sealed, whatever the controller chose to seal. */
const secretCases: Array<{title: string; env: () => RequestEnvelope; refused?: string; args?: string[]}> = [
	{title: 'a secret position sent in plaintext (nothing sealed)', env: () => runSealing('set-password', ['alice', 'hunter2'], []), refused: plaintextRefusal('argument 2', 'set-password')},
	{title: 'a sealed blob for the wrong position (the first sealed, the secret second in plaintext)', env: () => runSealing('set-password', ['alice', 'hunter2'], [0]), refused: plaintextRefusal('argument 2', 'set-password')},
	{title: 'a secret position both sealed and in plaintext', env: () => runSealing('set-password', ['alice', 'hunter2'], [1], {1: 'hunter2'}), refused: 'sealed argument positions 1 do not match the run\'s 2 arguments (each sealed one must be "")'},
	{title: 'an empty secret in plaintext (still not sealed)', env: () => runSealing('set-password', ['alice', ''], []), refused: plaintextRefusal('argument 2', 'set-password')},
	{title: 'secret positions from "items": two of three in plaintext', env: () => runSealing('vault-put', ['path', 'one', 'two'], [1]), refused: plaintextRefusal('argument 3', 'vault-put')},
	{title: 'secret positions from "items": none sealed', env: () => runSealing('vault-put', ['path', 'one', 'two'], []), refused: plaintextRefusal('arguments 2, 3', 'vault-put', false)},
	{title: 'the secret sealed: accepted, opened in place', env: () => runSealing('set-password', ['alice', 'hunter2'], [1]), args: ['alice', 'hunter2']},
	{title: 'more than the secret sealed (a controller that could not describe seals all): accepted', env: () => runSealing('set-password', ['alice', 'hunter2'], [0, 1]), args: ['alice', 'hunter2']},
	{title: 'a run with fewer arguments than the secret position: nothing secret was sent', env: () => runSealing('set-password', ['alice'], []), args: ['alice']},
	{title: 'a script with no secret in plaintext: accepted', env: () => runSealing('hello', ['alice', 'hunter2'], []), args: ['alice', 'hunter2']},
	{title: 'a script this agent does not have, in plaintext: left to the run\'s own refusal (unknown script)', env: () => runSealing('ghost', ['x'], []), args: ['x']},
];

for (const c of secretCases) {
	test(`secrets: ${c.title}`, t => {
		const verdict = acceptRequest(sealed(c.env()), context());
		if (c.refused) {
			t.like(verdict, {ok: false, code: 'forbidden', reason: c.refused});
		} else {
			t.true(verdict.ok, verdict.ok ? '' : verdict.reason);
			t.deepEqual(verdict.ok && verdict.frame.type === 'run' ? verdict.frame.args : undefined, c.args);
		}
	});
}
