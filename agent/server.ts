/**
 * The agent's TLS server: TLS 1.3 only, a client certificate required and chained to the fleet
 * CA alone, session tickets off (a resumed session would skip client authentication), then the
 * controller's identity and pinned serial checked on every connection (serve-connection.ts).
 * Each connection carries one request, or a description asked with keepOpen followed by one run
 * (the pins checked again before it) — connection-rules.ts says which frame may follow which;
 * anything malformed gets an error frame and the connection is closed, and nothing a peer sends
 * can stop the agent serving everyone else.
 */
import {constants} from 'node:crypto';
import {createServer, type TLSSocket} from 'node:tls';
import type {AddressInfo} from 'node:net';
import type {AgentCredentials} from './credentials.js';
import {acceptConnection} from './serve-connection.js';
import {createServerContext} from './server-context.js';
import type {AgentServer, AgentServerOptions} from './server-options.js';
import {stopReasons} from './stop-reasons.js';

export type {AgentServer, AgentServerOptions, CredentialStore} from './server-options.js';

/** TLS 1.3 only, tickets off, the fleet CA alone: at creation and after every renewal. */
function secureContextOptions(credentials: AgentCredentials) {
	return {
		key: credentials.key,
		cert: credentials.cert,
		ca: [credentials.ca],
		minVersion: 'TLSv1.3' as const,
		maxVersion: 'TLSv1.3' as const,
		secureOptions: constants.SSL_OP_NO_TICKET,
	};
}

export function createAgentServer(options: AgentServerOptions): AgentServer {
	const {config} = options;
	const context = createServerContext(options, credentials => {
		// New connections use the new certificate; connections already open keep theirs.
		// setSecureContext resets what it is not given: the same options as at creation, always.
		server.setSecureContext(secureContextOptions(credentials));
	});
	const sockets = new Set<TLSSocket>();
	const server = createServer({
		...secureContextOptions(options.credentials),
		requestCert: true,
		rejectUnauthorized: true,
		handshakeTimeout: config.limits.handshakeTimeoutMs,
	});
	server.maxConnections = config.limits.maxConnections;

	server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
		// A client certificate that fails verification (foreign CA, expired) gets through OpenSSL's
		// handshake; node then checks the chain, destroys the socket and reports only a hang-up
		// (ECONNRESET). The reason it refused is the socket's authorizationError: log that.
		const verifyError = (socket as {authorizationError?: unknown}).authorizationError;
		context.log('tls.refused', {source: socket.remoteAddress ?? 'unknown', reason: typeof verifyError === 'string' ? verifyError : (error.code ?? error.message)});
		socket.destroy();
	});

	server.on('secureConnection', (socket: TLSSocket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {
			socket.destroy();
		});
		acceptConnection(context, socket);
	});

	return {
		server,
		address: () => server.address() as AddressInfo,
		certificates: context.certificatePorts,
		async close() {
			const closed = new Promise<void>(resolve => {
				server.close(() => {
					resolve();
				});
			});
			context.stopping = true;
			for (const controller of context.activeRuns.values()) {
				controller.abort(stopReasons.agentStopping);
			}

			// Runs whose frame came meanwhile (cancelled as they start) are waited for too.
			while (context.runsDone.size > 0) {
				await Promise.allSettled([...context.runsDone]);
			}

			for (const socket of sockets) {
				socket.destroy();
			}

			await closed;
		},
	};
}
