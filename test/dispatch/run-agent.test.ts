/**
 * One host's run through runOnAgent over real TLS on 127.0.0.1, against a scripted agent of the
 * test's own (it answers each request as the row says): the exact result for each way an exchange
 * ends, compared as JSON so that the order of its fields counts too (results go to history and
 * audit as written), and the exact run and cancel frames the agent received, fields in order.
 * These rows held for the exchange before it became one object per host (tls-link.ts TlsExchange).
 */
import type {AddressInfo} from 'node:net';
import {createServer, type TLSSocket} from 'node:tls';
import test from 'ava';
import {createClientContext, type ClientContext} from '../../source/dispatch/agent-connection.js';
import {runOnAgent, type AgentRunRequest} from '../../source/dispatch/run-agent.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, privateKeyToPem} from '../../source/pki/index.js';
import type {RunEvent} from '../../source/run/events.js';

const id = '00000000-0000-4000-8000-00000000cafe';
const head = {log: 'agent', seq: 3, hash: 'a'.repeat(64), signature: 'sig', keyId: 'b'.repeat(16)};

let pki: {agent: {key: string; cert: string}; ca: string; context: ClientContext} | undefined;

test.before(async () => {
	const keys = await generateKeyPair();
	const ca = {certificate: await createCertificateAuthority({keys, now: new Date()}), privateKey: keys.privateKey};
	const mint = async (identity: Parameters<typeof issueCertificate>[0]['identity']) => {
		const pair = await generateKeyPair();
		const certificate = await issueCertificate({ca, publicKey: pair.publicKey, identity, now: new Date()});
		return {key: await privateKeyToPem(pair.privateKey), cert: certificate.toString('pem')};
	};

	const caPem = ca.certificate.toString('pem');
	const controller = await mint({role: 'controller'});
	pki = {agent: await mint({role: 'agent', name: 'web1'}), ca: caPem, context: createClientContext({...controller, ca: caPem})};
});

/** What the scripted agent does with each line it receives (`lines`: everything received so far, parsed). */
type Agent = (socket: TLSSocket, lines: Array<Record<string, unknown>>) => void;

async function agentServer(t: {teardown: (fn: () => void) => void}, agent: Agent): Promise<{address: string; received: Array<Record<string, unknown>>}> {
	const received: Array<Record<string, unknown>> = [];
	const server = createServer({...pki!.agent, ca: [pki!.ca], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, socket => {
		socket.on('error', () => undefined);
		let pending = '';
		socket.on('data', (chunk: Buffer) => {
			pending += chunk.toString('utf8');
			for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
				received.push(JSON.parse(pending.slice(0, newline)) as Record<string, unknown>);
				pending = pending.slice(newline + 1);
				agent(socket, received);
			}
		});
	});
	await new Promise<void>(resolve => {
		server.listen(0, '127.0.0.1', resolve);
	});
	t.teardown(() => server.close());
	return {address: `127.0.0.1:${(server.address() as AddressInfo).port}`, received};
}

const send = (socket: TLSSocket, ...frames: Array<Record<string, unknown>>) => socket.write(frames.map(frame => JSON.stringify({v: 1, id, ...frame}) + '\n').join(''));
const result = (extra: Record<string, unknown> = {}) => ({type: 'result', status: 'ok', exitCode: 0, signal: null, durationMs: 7, truncated: false, bytes: {stdout: 3, stderr: 2}, ...extra});

const request: AgentRunRequest = {requestId: id, script: 'uptime', args: ['-p'], caller: 'ops@host', timeoutMs: 30_000, dryRun: false};

async function run(t: {teardown: (fn: () => void) => void}, agent: Agent, options: {request?: AgentRunRequest; cancel?: AbortController; answerGraceMs?: number} = {}) {
	const {address, received} = await agentServer(t, agent);
	const events: RunEvent[] = [];
	const outcome = await runOnAgent({name: 'web1', address}, options.request ?? request, {
		context: pki!.context,
		connectTimeoutMs: 5000,
		answerGraceMs: options.answerGraceMs ?? 10_000,
		cancel: (options.cancel ?? new AbortController()).signal,
		emit: event => events.push(event),
	});
	// Whatever did not come from the agent's frame took wall time: not part of the comparison.
	return {result: JSON.stringify(outcome.status === 'ok' || outcome.status === 'cancelled' ? outcome : {...outcome, durationMs: 0}), received, events};
}

const ok = (socket: TLSSocket) => send(socket, {type: 'started'}, {type: 'stdout', data: 'up\n'}, {type: 'stderr', data: 'e\n'}, result({reason: 'fine', agentHead: head}));

const optional = {callerSource: 'cli', client: 'xi-exec/1', plannedEntries: {web1: 'c'.repeat(64), web2: null}} as const;

test('a run that ends with a result: its fields in order, its output and events, and the run frame the agent read, fields in order', async t => {
	const {result: answered, received, events} = await run(t, ok, {request: {...request, ...optional}});
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: 0, signal: null, stdout: 'up\n', stderr: 'e\n', truncated: false, durationMs: 7, via: 'tls', status: 'ok', reason: 'fine', agentHead: head}));
	t.deepEqual(events.map(event => event.type), ['agent-connecting', 'agent-started', 'agent-output', 'agent-output']);
	t.is(received.length, 1);
	const frame = received[0]!;
	t.deepEqual(Object.keys(frame), ['v', 'type', 'id', 'script', 'args', 'caller', 'timeoutMs', 'callerSource', 'client', 'entryDigest', 'msg', 'ts']);
	t.like(frame, {v: 1, type: 'run', id, script: 'uptime', args: ['-p'], caller: 'ops@host', timeoutMs: 30_000, callerSource: 'cli', client: 'xi-exec/1', entryDigest: 'c'.repeat(64)});
	t.regex(String(frame['msg']), /^[\da-f-]{36}$/);
});

test('a dry run whose agent sends output anyway: the output is dropped (no output in the result, no agent-output event), the result otherwise the same, and the frame says dryRun', async t => {
	const {result: answered, received, events} = await run(t, ok, {request: {...request, ...optional, dryRun: true}});
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 7, via: 'tls', status: 'ok', reason: 'fine', agentHead: head}));
	t.deepEqual(events.map(event => event.type), ['agent-connecting', 'agent-started']);
	t.deepEqual(Object.keys(received[0]!), ['v', 'type', 'id', 'script', 'args', 'caller', 'timeoutMs', 'dryRun', 'callerSource', 'client', 'entryDigest', 'msg', 'ts']);
	t.like(received[0], {dryRun: true});
});

test('a plain run frame carries no optional field; a refused entry ends with entryChanged', async t => {
	const {result: answered, received} = await run(t, socket => send(socket, result({status: 'denied', exitCode: null, durationMs: 0, reason: 'entry changed', entryChanged: true})));
	t.deepEqual(Object.keys(received[0]!), ['v', 'type', 'id', 'script', 'args', 'caller', 'timeoutMs', 'msg', 'ts']);
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, via: 'tls', status: 'denied', reason: 'entry changed', entryChanged: true}));
});

const ends: Array<{title: string; agent: Agent; status: string; reason: string; stdout?: string}> = [
	{title: 'a refusal of the request', agent: socket => send(socket, {type: 'error', code: 'forbidden', message: 'refused: not on the allowlist'}), status: 'error', reason: 'the agent refused the request (forbidden): not on the allowlist'},
	{title: 'a refusal of the connection (id "-")', agent: socket => socket.write(JSON.stringify({v: 1, id: '-', type: 'error', code: 'busy', message: 'refused: too many connections'}) + '\n'), status: 'error', reason: 'the agent refused the connection (busy): too many connections'},
	{title: 'an answer of the wrong kind', agent: socket => send(socket, {type: 'ack', found: true}), status: 'error', reason: 'the agent answered a run with a ack frame'},
	{title: 'another request\'s answer', agent: socket => socket.write(JSON.stringify({v: 1, id: 'ffffffff-0000-4000-8000-000000000000', type: 'started'}) + '\n'), status: 'error', reason: `the agent answered request ffffffff-0000-4000-8000-000000000000, not ${id}`},
	{title: 'the connection closed after the start', agent(socket) {
		send(socket, {type: 'started'}, {type: 'stdout', data: 'half'});
		setTimeout(() => socket.destroy(), 50);
	}, status: 'unreachable', reason: 'connection closed while the script ran; its outcome is unknown', stdout: 'half'},
	{title: 'the connection closed before an answer', agent: socket => socket.end(), status: 'unreachable', reason: 'connection closed before an answer'},
];

for (const end of ends) {
	test(`a run that ends with ${end.title}: exactly one result, fields in order`, async t => {
		const {result: answered} = await run(t, end.agent);
		t.is(answered, JSON.stringify({agent: 'web1', exitCode: null, signal: null, stdout: end.stdout ?? '', stderr: '', truncated: false, durationMs: 0, via: 'tls', status: end.status, reason: end.reason}));
	});
}

test('a bad frame ends the run as a protocol error', async t => {
	const {result: answered} = await run(t, socket => socket.write('{"v":1,"id":"x"\n'));
	t.regex(JSON.parse(answered).reason as string, /^the agent sent a bad frame: /);
	t.is(JSON.parse(answered).status, 'error');
});

test('no answer within the script\'s time and the grace: timeout', async t => {
	const {result: answered} = await run(t, () => undefined, {request: {...request, timeoutMs: 100}, answerGraceMs: 100});
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, via: 'tls', status: 'timeout', reason: 'no answer from the agent within 0 s'}));
});

test('a cancel after the start sends one cancel frame naming the timeout that fired; the agent\'s answer is the result', async t => {
	const cancel = new AbortController();
	const {result: answered, received} = await run(t, (socket, lines) => {
		const last = lines.at(-1)!;
		if (last['type'] === 'run') {
			send(socket, {type: 'started'});
			setTimeout(() => cancel.abort('run-timeout'), 20);
		} else {
			send(socket, result({status: 'cancelled', exitCode: null, signal: 'SIGTERM', durationMs: 30}));
		}
	}, {cancel});
	t.deepEqual(received.map(frame => Object.keys(frame)), [['v', 'type', 'id', 'script', 'args', 'caller', 'timeoutMs', 'msg', 'ts'], ['v', 'type', 'id', 'caller', 'msg', 'ts']]);
	t.like(received[1], {type: 'cancel', id, caller: 'ops@host (--run-timeout)'});
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: null, signal: 'SIGTERM', stdout: '', stderr: '', truncated: false, durationMs: 30, via: 'tls', status: 'cancelled'}));
});

test('a cancel the agent does not confirm within the grace ends unreachable, saying so', async t => {
	const cancel = new AbortController();
	const {result: answered} = await run(t, (socket, lines) => {
		if (lines.length === 1) {
			send(socket, {type: 'started'});
			setTimeout(() => cancel.abort('cancelled'), 20);
		}
	}, {cancel, answerGraceMs: 100});
	t.is(answered, JSON.stringify({agent: 'web1', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, via: 'tls', status: 'unreachable', reason: 'the agent did not confirm the cancel'}));
});

test('a cancel before the connection is made: skipped, nothing sent', async t => {
	const cancel = new AbortController();
	const {address, received} = await agentServer(t, () => undefined);
	const pending = runOnAgent({name: 'web1', address}, request, {context: pki!.context, connectTimeoutMs: 5000, answerGraceMs: 100, cancel: cancel.signal, emit: () => undefined});
	cancel.abort('cancelled');
	const outcome = await pending;
	t.like(outcome, {status: 'skipped', reason: 'cancelled before the connection was made', via: 'tls'});
	t.deepEqual(received, []);
});

test('an agent of transport both, its direct TLS refused and its broker unreachable: one unreachable result over the relay, the direct failure noted and both reasons said', async t => {
	// A port that was listening and is not any more: the direct dial is refused.
	const closed = createServer();
	await new Promise<void>(resolve => {
		closed.listen(0, '127.0.0.1', resolve);
	});
	const address = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
	await new Promise(resolve => closed.close(resolve));
	const events: RunEvent[] = [];
	const outcome = await runOnAgent({name: 'web1', address, transport: 'both', relay: 'nats://127.0.0.1:1', serial: 'AB', certificate: pki!.agent.cert}, request, {
		context: {...pki!.context, relay: async () => Promise.reject(new Error('no broker here'))},
		connectTimeoutMs: 5000,
		answerGraceMs: 10_000,
		cancel: new AbortController().signal,
		emit: event => events.push(event),
	});
	t.is(JSON.stringify({...outcome, durationMs: 0}), JSON.stringify({
		agent: 'web1', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, via: 'relay',
		notes: [`direct TLS: connection refused by ${address} (is the agent running?); tried the relay`],
		status: 'unreachable',
		reason: `connection refused by ${address} (is the agent running?); over the relay: the broker nats://127.0.0.1:1 cannot be reached: no broker here`,
	}));
	t.deepEqual(events, [{type: 'agent-connecting', agent: 'web1'}]);
});
