/**
 * One controller connection on the agent: the peer's certificate and pinned serial checked, then
 * each line decoded, checked for freshness (replay guard) and fed to the connection's rules
 * (connection-rules.ts); this socket layer does what the verdict says. A fault of the agent's own
 * while handling a request is answered with code `internal`, never as the peer's mistake.
 */
import type {TLSSocket} from 'node:tls';
import {decodeRequest} from '../source/protocol/decode.js';
import {encodeFrame} from '../source/protocol/encode.js';
import {limits, unknownRequestId, type RequestFrame} from '../source/protocol/frames.js';
import {pemToDer} from '../source/protocol/relay-envelope.js';
import {LineSplitter} from '../source/protocol/line-splitter.js';
import {answerCertificateFrame} from './certificate-requests.js';
import {endConnection, refuse, sendOn} from './connection-end.js';
import {nextFrame, openConnection, type Verdict} from './connection-rules.js';
import {describeAllowlist} from './loaded-allowlist.js';
import {checkControllerCertificate} from './peer-check.js';
import {confirmSerial} from './pins.js';
import {startRun} from './run-on-connection.js';
import type {Connection, ServerContext} from './server-context.js';
import {stopReasons} from './stop-reasons.js';

let lastCa: {pem: string; der: Buffer} | undefined;

/** The CA's DER, decoded again only when the PEM changed (a renewal may bring another bundle). */
function caDer(pem: string): Buffer {
	if (lastCa?.pem !== pem) {
		lastCa = {pem, der: pemToDer(pem)};
	}

	return lastCa.der;
}

/** A TLS connection the handshake let through: the controller's certificate and pins, then its requests. */
export function acceptConnection(context: ServerContext, socket: TLSSocket): void {
	const {log} = context;
	const source = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
	const pins = context.pins();
	// The issuer checked is the fleet CA this agent holds, the one CA its TLS layer trusts (so the
	// one the chain was verified to), as the relay does. Only the peer's DER is read, from node's
	// certificate object (getPeerCertificate(): every field and three fingerprints, yet at the one
	// call a connection makes 83–118 µs of CPU against 207–257 µs for getPeerX509Certificate().raw,
	// which copies the certificate and the chain's next one, each key decoded again by OpenSSL 3:
	// bench/agent-peer-certificate.ts. A second call on one socket is the other way round, 16 against 4 µs).
	const peer = socket.getPeerCertificate();
	const verdict = Buffer.isBuffer(peer?.raw)
		? checkControllerCertificate(peer.raw, caDer(context.certificatePorts.credentials().ca), pins)
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
			context.certificatePorts.savePins(confirmed);
			void context.recorder.record('controller.serial-confirmed', {serial: verdict.serial, retired}).catch(() => undefined);
		} catch (error) {
			// Not fatal: the new serial is pinned already, the old one is retired at a later connection.
			log('pins.save-failed', {reason: (error as Error).message});
		}
	}

	serveConnection(context, {socket, peer: {address: source, serial: verdict.serial}, state: openConnection, maintenance: Promise.resolve()});
}

function serveConnection(context: ServerContext, connection: Connection): void {
	const {socket, peer} = connection;
	const {log, config} = context;
	const splitter = new LineSplitter(limits.requestFrameBytes);
	// The whole request must arrive within the idle timeout, not merely some byte of it: a
	// client that trickles a byte at a time is never idle, and would hold the connection.
	const awaitRequest = () => setTimeout(() => {
		log('protocol.error', {source: peer.address, reason: 'no complete request before the deadline'});
		refuse(socket, unknownRequestId, 'timeout', `no complete request within ${config.limits.idleTimeoutMs / 1000} s`);
	}, config.limits.idleTimeoutMs).unref();
	let requestDeadline = awaitRequest();
	socket.on('close', () => {
		clearTimeout(requestDeadline);
		if (context.renewing.socket === socket) {
			context.renewing.socket = undefined;
		}

		// The controller went away: a script it can no longer hear from is cancelled.
		connection.run?.controller.abort(stopReasons.connectionLost);
	});
	socket.on('data', (chunk: Buffer) => {
		const {lines, overflow} = splitter.push(chunk);
		for (const line of lines) {
			// Answered or refused: nothing more this peer sends is acted on.
			if (socket.writableEnded) {
				return;
			}

			clearTimeout(requestDeadline);
			if (onLine(context, connection, line) === 'await another request') {
				requestDeadline = awaitRequest();
			}
		}

		if (overflow && !socket.writableEnded) {
			log('protocol.error', {source: peer.address, reason: 'frame too large'});
			refuse(socket, connection.run?.id ?? unknownRequestId, 'too-large', `a frame may not exceed ${limits.requestFrameBytes} bytes`);
		}
	});
}

/** Decodes one line and acts on it; says when the connection waits for another request (after a description kept open). */
function onLine(context: ServerContext, connection: Connection, line: string): 'await another request' | undefined {
	const {socket, peer} = connection;
	const {log} = context;
	const decoded = decodeRequest(line);
	if (!decoded.ok) {
		log('protocol.error', {source: peer.address, requestId: decoded.error.id, reason: decoded.error.message});
		refuse(socket, decoded.error.id, decoded.error.code, decoded.error.message);
		return undefined;
	}

	const {frame} = decoded;
	const {verdict, state} = nextFrame(connection.state, frame, {serial: peer.serial, pinned: context.pins().controllerSerials.includes(peer.serial), runGoing: context.activeRuns.has(frame.id)});
	// A run's id reaches the disk in its audit receipt, before anything acts on it (execute-run.ts);
	// every other message's, refused ones too, in the replay memory's file before this goes on.
	const fresh = context.replayGuard.check(frame.msg, frame.ts, context.options.now(), verdict.act !== 'run');
	if (!fresh.ok) {
		log('protocol.error', {source: peer.address, requestId: frame.id, reason: fresh.reason});
		refuse(socket, frame.id, fresh.code, fresh.reason);
		return undefined;
	}

	connection.state = state;
	try {
		return act(context, connection, frame, verdict);
	} catch (error) {
		log('request.error', {source: peer.address, requestId: frame.id, step: verdict.act, reason: (error as Error).message});
		refuse(socket, frame.id, 'internal', `internal error on the agent while handling ${frame.type}; its log has the details`);
		return undefined;
	}
}

function act(context: ServerContext, connection: Connection, frame: RequestFrame, verdict: Verdict): 'await another request' | undefined {
	const {socket, peer} = connection;
	switch (verdict.act) {
		case 'refuse': {
			if (verdict.code === 'unpinned') {
				context.log('tls.refused', {source: peer.address, reason: `controller certificate serial ${peer.serial} is no longer pinned`});
			}

			refuse(socket, verdict.code === 'unpinned' ? unknownRequestId : frame.id, verdict.code, verdict.message);
			return undefined;
		}

		case 'describe': {
			const {config} = context;
			const description = {type: 'description' as const, id: frame.id, agent: {name: config.name, tags: config.tags}, scripts: describeAllowlist(context.options.allowlist()), checksEntry: true as const};
			if (!verdict.keepOpen) {
				endConnection(socket, encodeFrame(description));
				return undefined;
			}

			// Asked to: kept open for the run the controller describes for (one handshake for both), within the idle timeout.
			sendOn(socket, encodeFrame({...description, openForRun: true}));
			return 'await another request';
		}

		case 'cancel': {
			const target = context.activeRuns.get(frame.id);
			context.log('cancel', {source: peer.address, requestId: frame.id, caller: verdict.frame.caller, found: target !== undefined});
			// The reason names who cancelled, for the run's own audit record.
			target?.abort(verdict.frame.caller);
			if (verdict.answer) {
				endConnection(socket, encodeFrame({type: 'ack', id: frame.id, found: target !== undefined}));
			}

			return undefined;
		}

		case 'certificate': {
			const step = connection.maintenance.then(async () => answerCertificateFrame(context, connection, verdict.frame));
			connection.maintenance = step;
			// A stop waits for a step in progress (its records before agent.stopped, its answer sent); a later one is refused.
			context.runsDone.add(step);
			const done = () => context.runsDone.delete(step);
			step.then(done, done);
			return undefined;
		}

		case 'run': {
			startRun(context, connection, verdict.frame);
			return undefined;
		}
	}
}
