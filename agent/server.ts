/**
 * The agent's TLS server: TLS 1.3 only, a client certificate required and chained to the fleet
 * CA alone, session tickets off (a resumed session would skip client authentication), then the
 * controller's identity and pinned serial checked on every connection. Each connection carries
 * one request, or a description asked with keepOpen followed by one run (the pins checked again
 * before it); anything malformed gets an error frame and the connection is closed, and nothing a
 * peer sends can stop the agent serving everyone else.
 */
import {constants} from 'node:crypto';
import {createServer, type Server, type TLSSocket} from 'node:tls';
import type {AddressInfo} from 'node:net';
import {decodeRequest} from '../source/protocol/decode.js';
import {encodeFrame} from '../source/protocol/encode.js';
import {limits, unknownRequestId, type ProtocolErrorCode, type RunFrame} from '../source/protocol/frames.js';
import {LineSplitter} from '../source/protocol/line-splitter.js';
import {executeRun, noRecorder, type AgentLog, type AgentRecorder, type RunContext} from './execute-run.js';
import type {HookConfig} from './auth-hook.js';
import type {AgentConfig} from './home.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import {describeAllowlist} from './loaded-allowlist.js';
import {checkControllerCertificate} from './peer-check.js';
import {nextFrame, openConnection, type CertificateFrame, type ConnectionState} from './connection-rules.js';
import {confirmSerial, type Pins} from './pins.js';
import {acceptPin, acceptUnpair, finishRenewal, startRenewal, type CertificatePorts, type PendingRenewal, type Reply} from './certificate-frames.js';
import type {AgentCredentials} from './credentials.js';
import {ReplayGuard, type ReplayMemory} from './replay-guard.js';
import {stopReasons} from './stop-reasons.js';
import {RunSlots} from './run-slots.js';
import type {RunCgroups} from './run-cgroup.js';

/** How long a peer has, after the agent's last frame, to read it and close its side. */
const closeGraceMs = 10_000;

/** Where renewed credentials and changed pins are kept (the agent home); in memory when absent. */
export type CredentialStore = {
	install: (next: {key: string; cert: string}) => void;
	forget: () => void;
	savePins: (pins: Pins) => void;
};

export type AgentServerOptions = {
	config: AgentConfig;
	credentials: AgentCredentials;
	pins: Pins;
	store?: CredentialStore;
	/** Called after the controller unpaired this agent and was answered. */
	onUnpaired?: () => void;
	allowlist: () => LoadedAllowlist;
	ownersFor: RunContext['ownersFor'];
	runAsIds: RunContext['runAsIds'];
	log: AgentLog;
	recorder?: AgentRecorder;
	/** Where accepted message ids are kept across restarts (replay-memory.ts); in memory only without it. */
	replayMemory?: {memory: ReplayMemory; load: (guard: ReplayGuard) => void};
	/** Writes a signed checkpoint (after a renewal, a pin change, an unpairing). */
	checkpoint?: () => Promise<void>;
	hook?: HookConfig;
	/** The strict-modes problem of the home now, checked before every run (home-modes.ts). */
	homeProblem?: () => string | undefined;
	now: () => number;
	cgroups?: RunCgroups;
	/** The run slots, when shared with another transport (the relay): one concurrency limit per agent. */
	slots?: RunSlots;
};

export type AgentServer = {
	server: Server;
	address: () => AddressInfo;
	/** Stops accepting, cancels running scripts, waits for them to end. */
	close: () => Promise<void>;
};

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
	const recorder = options.recorder ?? noRecorder;
	// Refusals outside a run (TLS, protocol, replay) go to the audit log as well as to stdout.
	const log: AgentLog = (event, fields) => {
		options.log(event, fields);
		if (event === 'tls.refused' || event === 'protocol.error' || event === 'cancel') {
			void recorder.record(event, fields).catch(() => undefined);
		}
	};

	let credentials = options.credentials;
	/** The connection whose renewal is in progress, if any: at most one per agent. */
	let renewingConnection: TLSSocket | undefined;
	let pins = options.pins;
	const store = options.store;
	const certificatePorts: CertificatePorts = {
		agentName: config.name,
		credentials: () => credentials,
		install(next) {
			store?.install(next);
			credentials = {...credentials, ...next};
			// New connections use the new certificate; connections already open keep theirs.
			// setSecureContext resets what it is not given: the same options as at creation, always.
			server.setSecureContext(secureContextOptions(credentials));
		},
		forget: () => store?.forget(),
		stop: () => options.onUnpaired?.(),
		pins: () => pins,
		savePins(next) {
			store?.savePins(next);
			pins = next;
		},
		recorder: {...recorder, checkpoint: options.checkpoint},
		now: options.now,
	};

	const slots = options.slots ?? new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns);
	const replayGuard = new ReplayGuard(limits.clockSkewMs, undefined, options.replayMemory?.memory);
	options.replayMemory?.load(replayGuard);
	const activeRuns = new Map<string, AbortController>();
	const runsDone = new Set<Promise<void>>();
	const sockets = new Set<TLSSocket>();

	const server = createServer({
		...secureContextOptions(credentials),
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
		log('tls.refused', {source: socket.remoteAddress ?? 'unknown', reason: typeof verifyError === 'string' ? verifyError : (error.code ?? error.message)});
		socket.destroy();
	});

	server.on('secureConnection', (socket: TLSSocket) => {
		const source = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {
			socket.destroy();
		});
		const peer = socket.getPeerCertificate(true);
		const verdict = peer?.raw
			? checkControllerCertificate(peer.raw, peer.issuerCertificate?.raw, pins)
			: {ok: false as const, reason: 'no client certificate'};
		if (!verdict.ok) {
			log('tls.refused', {source, reason: verdict.reason});
			refuse(socket, unknownRequestId, verdict.code ?? 'forbidden', `refused: ${verdict.reason}`);
			return;
		}

		const confirmed = confirmSerial(pins, verdict.serial);
		if (confirmed !== pins) {
			// The first connection with the newly announced controller certificate retires the old one.
			const retired = pins.controllerSerials.filter(serial => serial !== verdict.serial);
			try {
				certificatePorts.savePins(confirmed);
				void recorder.record('controller.serial-confirmed', {serial: verdict.serial, retired}).catch(() => undefined);
			} catch (error) {
				// Not fatal: the new serial is pinned already, the old one is retired at a later connection.
				log('pins.save-failed', {reason: (error as Error).message});
			}
		}

		serveConnection(socket, {address: source, serial: verdict.serial});
	});

	function refuse(socket: TLSSocket, id: string, code: ProtocolErrorCode, message: string): void {
		endConnection(socket, encodeFrame({type: 'error', id, code, message}));
	}

	/**
	 * The last frame of a connection, sent once: a second end() is a write after end, which
	 * destroys the socket and the frame with it. Whatever the peer still sends is read and
	 * dropped, and the socket is closed when the peer closes its side: closing with unread input
	 * sends a reset, which can overtake the frame at a peer that is slow to read. A peer that
	 * never closes is cut off after a grace period.
	 */
	function endConnection(socket: TLSSocket, line?: string): void {
		if (socket.destroyed || socket.writableEnded) {
			return;
		}

		if (line === undefined) {
			socket.end();
		} else {
			socket.end(line);
		}

		socket.resume();
		setTimeout(() => socket.destroy(), closeGraceMs).unref();
	}

	function serveConnection(socket: TLSSocket, peer: {address: string; serial: string}): void {
		const splitter = new LineSplitter(limits.requestFrameBytes);
		let run: {id: string; controller: AbortController} | undefined;
		let renewal: PendingRenewal | undefined;
		let state: ConnectionState = openConnection;
		socket.on('close', () => {
			if (renewingConnection === socket) {
				renewingConnection = undefined;
			}
		});
		let maintenance: Promise<void> = Promise.resolve();
		// The whole request must arrive within the idle timeout, not merely some byte of it: a
		// client that trickles a byte at a time is never idle, and would hold the connection.
		const awaitRequest = () => setTimeout(() => {
			log('protocol.error', {source: peer.address, reason: 'no complete request before the deadline'});
			refuse(socket, unknownRequestId, 'timeout', `no complete request within ${config.limits.idleTimeoutMs / 1000} s`);
		}, config.limits.idleTimeoutMs).unref();
		let requestDeadline = awaitRequest();
		socket.on('close', () => {
			clearTimeout(requestDeadline);
			// The controller went away: a script it can no longer hear from is cancelled.
			run?.controller.abort(stopReasons.connectionLost);
		});
		socket.on('data', (chunk: Buffer) => {
			const {lines, overflow} = splitter.push(chunk);
			for (const line of lines) {
				// Answered or refused: nothing more this peer sends is acted on.
				if (socket.writableEnded) {
					return;
				}

				handleLine(line);
			}

			if (overflow && !socket.writableEnded) {
				log('protocol.error', {source: peer.address, reason: 'frame too large'});
				refuse(socket, run?.id ?? unknownRequestId, 'too-large', `a frame may not exceed ${limits.requestFrameBytes} bytes`);
			}
		});

		function send(line: string): void {
			if (!socket.destroyed && socket.writable) {
				socket.write(line);
			}
		}

		function handleLine(line: string): void {
			clearTimeout(requestDeadline);
			const decoded = decodeRequest(line);
			if (!decoded.ok) {
				log('protocol.error', {source: peer.address, requestId: decoded.error.id, reason: decoded.error.message});
				refuse(socket, decoded.error.id, decoded.error.code, decoded.error.message);
				return;
			}

			const {frame} = decoded;
			const fresh = replayGuard.check(frame.msg, frame.ts, options.now());
			if (!fresh.ok) {
				log('protocol.error', {source: peer.address, requestId: frame.id, reason: fresh.reason});
				refuse(socket, frame.id, fresh.code, fresh.reason);
				return;
			}

			const {verdict, state: next} = nextFrame(state, frame, {serial: peer.serial, pinned: pins.controllerSerials.includes(peer.serial), runGoing: activeRuns.has(frame.id)});
			state = next;
			switch (verdict.act) {
				case 'refuse': {
					if (verdict.code === 'unpinned') {
						log('tls.refused', {source: peer.address, reason: `controller certificate serial ${peer.serial} is no longer pinned`});
					}

					refuse(socket, verdict.code === 'unpinned' ? unknownRequestId : frame.id, verdict.code, verdict.message);
					return;
				}

				case 'describe': {
					const description = {type: 'description' as const, id: frame.id, agent: {name: config.name, tags: config.tags}, scripts: describeAllowlist(options.allowlist())};
					if (!verdict.keepOpen) {
						endConnection(socket, encodeFrame(description));
						return;
					}

					// Asked to: kept open for the run the controller describes for (one handshake for both), within the idle timeout.
					send(encodeFrame({...description, openForRun: true}));
					requestDeadline = awaitRequest();
					return;
				}

				case 'cancel': {
					const target = activeRuns.get(frame.id);
					log('cancel', {source: peer.address, requestId: frame.id, caller: verdict.frame.caller, found: target !== undefined});
					// The reason names who cancelled, for the run's own audit record.
					target?.abort(verdict.frame.caller);
					if (verdict.answer) {
						endConnection(socket, encodeFrame({type: 'ack', id: frame.id, found: target !== undefined}));
					}

					return;
				}

				case 'certificate': {
					// One step at a time, in order: `certificate` must find the key `renew` made.
					maintenance = maintenance.then(async () => handleCertificateFrame(verdict.frame));
					return;
				}

				case 'run': {
					startRun(verdict.frame);
				}
			}
		}

		async function handleCertificateFrame(frame: CertificateFrame): Promise<void> {
			// Answered already (a terminal reply, a refusal): what was queued behind it is not acted on.
			if (socket.writableEnded || socket.destroyed) {
				return;
			}

			let reply: Reply;
			try {
				switch (frame.type) {
					case 'renew': {
						// One renewal of this agent at a time, whichever connections ask.
						if (renewingConnection !== undefined || renewal) {
							refuse(socket, frame.id, 'busy', 'a renewal of this agent is already in progress');
							return;
						}

						renewingConnection = socket;
						const started = await startRenewal(frame, certificatePorts);
						renewal = started.pending;
						reply = started.reply;
						break;
					}

					case 'certificate': {
						reply = await finishRenewal(frame, renewal, certificatePorts);
						renewal = undefined;
						if (renewingConnection === socket) {
							renewingConnection = undefined;
						}

						break;
					}

					case 'pin': {
						reply = await acceptPin(frame, certificatePorts);
						break;
					}

					case 'unpair': {
						reply = await acceptUnpair(frame, certificatePorts);
						break;
					}
				}
			} catch (error) {
				log('certificate.error', {requestId: frame.id, step: frame.type, reason: (error as Error).message});
				refuse(socket, frame.id, 'forbidden', `${frame.type} failed on the agent: ${(error as Error).message}`);
				return;
			}

			log(`certificate.${frame.type}`, {source: peer.address, requestId: frame.id});
			if (frame.type === 'renew' && renewal) {
				send(reply.line);
				setTimeout(() => {
					if (renewal) {
						log('protocol.error', {source: peer.address, requestId: frame.id, reason: 'no certificate after the CSR'});
						refuse(socket, frame.id, 'timeout', `no certificate within ${config.limits.idleTimeoutMs / 1000} s of the CSR`);
					}
				}, config.limits.idleTimeoutMs).unref();
			} else {
				endConnection(socket, reply.line);
			}

			reply.after?.();
		}

		function startRun(frame: RunFrame): void {
			const controller = new AbortController();
			run = {id: frame.id, controller};
			activeRuns.set(frame.id, controller);

			const context: RunContext = {
				agentName: config.name,
				allowlist: options.allowlist(),
				ownersFor: options.ownersFor,
				runAsIds: options.runAsIds,
				limits: config.limits,
				workingDirectory: config.workingDirectory,
				slots,
				log: options.log,
				recorder,
				...(options.hook ? {hook: options.hook} : {}),
				...(options.homeProblem ? {homeProblem: options.homeProblem} : {}),
				agentTags: config.tags,
				now: options.now,
				peer,
				...(options.cgroups ? {cgroups: options.cgroups} : {}),
			};
			const done = executeRun(frame, context, send, controller.signal)
				.catch((error: unknown) => {
					log('run.error', {requestId: frame.id, reason: (error as Error).message});
					send(encodeFrame({type: 'error', id: frame.id, code: 'internal', message: 'internal error while running the script'}));
				})
				.finally(() => {
					activeRuns.delete(frame.id);
					runsDone.delete(done);
					endConnection(socket);
				});
			runsDone.add(done);
		}
	}

	return {
		server,
		address: () => server.address() as AddressInfo,
		async close() {
			const closed = new Promise<void>(resolve => {
				server.close(() => {
					resolve();
				});
			});
			for (const controller of activeRuns.values()) {
				controller.abort(stopReasons.agentStopping);
			}

			await Promise.allSettled([...runsDone]);
			for (const socket of sockets) {
				socket.destroy();
			}

			await closed;
		},
	};
}
