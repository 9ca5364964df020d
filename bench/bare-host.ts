/**
 * The floor: a worker process hosting bare node:tls servers with the agents' own certificates and
 * the same TLS settings (TLS 1.3 only, client certificate required and chained to the fleet CA,
 * no session tickets). On each connection it spawns the script (no shell, no protocol, no checks),
 * writes its stdout to the socket and ends the connection when the script exits. With one server
 * it is also the "bare node:tls server" whose idle RSS the agent's is compared with.
 *
 * With no script (the dry-run floor, BENCH_SPAWN=0) it writes one line and ends the connection.
 * With `protocol`, it answers as an agent answers, in as many messages and about as many bytes,
 * and checks nothing: it waits for one request line, then writes a `started` line, the script's
 * output as `stdout` lines (with the first of them in one write, as the agent batches them) and
 * a result line in a write of its own, and ends the connection; with no script, `started` and the
 * result (profile-fan-out.ts BENCH_FLOOR_PROTOCOL: what the protocol's messages cost the floor).
 */
import {spawn} from 'node:child_process';
import {constants} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {createServer, type Server, type TLSSocket} from 'node:tls';
import {announce, exitWhenAsked} from './host-protocol.js';

export type BareServerSpec = {port: number; key: string; cert: string; ca: string; host?: string};
export type BareHostInput = {script?: string; protocol?: boolean; servers: BareServerSpec[]};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareHostInput;
const servers: Server[] = [];

// An agent's dry-run answer as the controller reads it: the same fields and about the same length.
const startedLine = '{"v":1,"type":"started","id":"00000000-0000-4000-8000-000000000000"}\n';
const resultLine = JSON.stringify({v: 1, type: 'result', id: '00000000-0000-4000-8000-000000000000', status: 'ok', exitCode: null, signal: null, durationMs: 1, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: every check passed; nothing ran', agentHead: {log: 'agent', seq: 1, hash: 'a'.repeat(64), signature: 's'.repeat(96), keyId: 'b'.repeat(16)}}) + '\n';

const stdoutLine = (data: string) => `{"v":1,"type":"stdout","id":"00000000-0000-4000-8000-000000000000","data":${JSON.stringify(data)}}\n`;

function answerLikeAnAgent(socket: TLSSocket, script: string | undefined): void {
	socket.on('data', (chunk: Buffer) => {
		if (!chunk.includes(10)) {
			return;
		}

		socket.removeAllListeners('data');
		if (script === undefined) {
			socket.write(startedLine);
			setImmediate(() => socket.end(resultLine));
			return;
		}

		let first = true;
		const child = spawn(script, [], {stdio: ['ignore', 'pipe', 'ignore'], shell: false});
		child.stdout.on('data', (output: Buffer) => {
			socket.write((first ? startedLine : '') + stdoutLine(output.toString('utf8')));
			first = false;
		});
		child.on('error', () => socket.destroy());
		child.on('close', () => socket.end((first ? startedLine : '') + resultLine));
	});
}

function serve(socket: TLSSocket): void {
	socket.on('error', () => socket.destroy());
	if (input.protocol === true) {
		answerLikeAnAgent(socket, input.script);
		return;
	}

	if (input.script === undefined) {
		socket.end('dry run: nothing spawned\n');
		return;
	}

	const child = spawn(input.script, [], {stdio: ['ignore', 'pipe', 'ignore'], shell: false});
	child.stdout.on('data', (chunk: Buffer) => socket.write(chunk));
	child.on('error', () => socket.destroy());
	child.on('close', () => socket.end());
}

function listen(spec: BareServerSpec): Promise<void> {
	const server = createServer({
		key: readFileSync(spec.key),
		cert: readFileSync(spec.cert),
		ca: [readFileSync(spec.ca)],
		requestCert: true,
		rejectUnauthorized: true,
		minVersion: 'TLSv1.3',
		maxVersion: 'TLSv1.3',
		secureOptions: constants.SSL_OP_NO_TICKET,
	});
	server.on('secureConnection', serve);
	server.on('tlsClientError', (_error, socket) => socket.destroy());
	servers.push(server);
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(spec.port, spec.host ?? '127.0.0.1', () => {
			server.off('error', reject);
			resolve();
		});
	});
}

exitWhenAsked(async () => {
	await Promise.all(servers.map(server => new Promise(resolve => {
		server.close(resolve);
	})));
});

try {
	for (const spec of input.servers) {
		await listen(spec);
	}

	announce({ready: servers.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
