/**
 * The floor: a worker process hosting bare node:tls servers with the agents' own certificates and
 * the same TLS settings (TLS 1.3 only, client certificate required and chained to the fleet CA,
 * no session tickets). On each connection it spawns the script (no shell, no protocol, no checks),
 * writes its stdout to the socket and ends the connection when the script exits. With one server
 * it is also the "bare node:tls server" whose idle RSS the agent's is compared with.
 *
 * With no script (the dry-run floor, BENCH_SPAWN=0) it writes one line and ends the connection.
 *
 *   node [--import=tsx] bare-host.ts SERVERS.json     SERVERS.json: {script?, servers: [{port, key, cert, ca, host?}]} (PEM paths; host 127.0.0.1)
 *
 * Node built-ins only, so that the bench can also run it as plain JavaScript (see rss.ts).
 */
import {spawn} from 'node:child_process';
import {constants} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {createServer, type Server, type TLSSocket} from 'node:tls';
import {announce, exitWhenAsked} from './host-protocol.js';

export type BareServerSpec = {port: number; key: string; cert: string; ca: string; host?: string};
export type BareHostInput = {script?: string; servers: BareServerSpec[]};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareHostInput;
const servers: Server[] = [];

function serve(socket: TLSSocket): void {
	socket.on('error', () => socket.destroy());
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
