/**
 * The certificate frames on one connection (renew then certificate, pin, unpair), answered one
 * at a time in order by certificate-frames.ts; one renewal of this agent at a time, whichever
 * connections ask. A fault of the agent's own (a key it cannot make, a file it cannot write) is
 * answered with code `internal`.
 */
import {acceptPin, acceptUnpair, finishRenewal, startRenewal, type Reply} from './certificate-frames.js';
import type {CertificateFrame} from './connection-rules.js';
import {endConnection, refuse, sendOn} from './connection-end.js';
import type {Connection, ServerContext} from './server-context.js';

export async function answerCertificateFrame(context: ServerContext, connection: Connection, frame: CertificateFrame): Promise<void> {
	const {socket, peer} = connection;
	const {log} = context;
	// Answered already (a terminal reply, a refusal): what was queued behind it is not acted on.
	if (socket.writableEnded || socket.destroyed) {
		return;
	}

	if (context.stopping) {
		// Nothing more is acted on once the stop began: no credentials or pins changed, nothing recorded after agent.stopped.
		log('certificate.refused', {source: peer.address, requestId: frame.id, step: frame.type, reason: 'the agent is stopping'});
		refuse(socket, frame.id, 'busy', `${frame.type} refused: the agent is stopping; send it again once the agent runs`);
		return;
	}

	if (frame.type === 'renew' && (context.renewing.socket !== undefined || connection.renewal)) {
		refuse(socket, frame.id, 'busy', 'a renewal of this agent is already in progress');
		return;
	}

	let reply: Reply;
	try {
		reply = await certificateReply(context, connection, frame);
	} catch (error) {
		log('certificate.error', {requestId: frame.id, step: frame.type, reason: (error as Error).message});
		refuse(socket, frame.id, 'internal', `${frame.type} failed on the agent: ${(error as Error).message}`);
		return;
	}

	log(`certificate.${frame.type}`, {source: peer.address, requestId: frame.id});
	if (frame.type === 'renew' && connection.renewal) {
		sendOn(socket, reply.line);
		setTimeout(() => {
			if (connection.renewal) {
				log('protocol.error', {source: peer.address, requestId: frame.id, reason: 'no certificate after the CSR'});
				refuse(socket, frame.id, 'timeout', `no certificate within ${context.config.limits.idleTimeoutMs / 1000} s of the CSR`);
			}
		}, context.config.limits.idleTimeoutMs).unref();
	} else {
		endConnection(socket, reply.line);
	}

	reply.after?.();
}

async function certificateReply(context: ServerContext, connection: Connection, frame: CertificateFrame): Promise<Reply> {
	const ports = context.certificatePorts;
	switch (frame.type) {
		case 'renew': {
			context.renewing.socket = connection.socket;
			const started = await startRenewal(frame, ports);
			connection.renewal = started.pending;
			return started.reply;
		}

		case 'certificate': {
			const reply = await finishRenewal(frame, connection.renewal, ports);
			connection.renewal = undefined;
			if (context.renewing.socket === connection.socket) {
				context.renewing.socket = undefined;
			}

			return reply;
		}

		case 'pin': {
			return acceptPin(frame, ports);
		}

		case 'unpair': {
			return acceptUnpair(frame, ports);
		}
	}
}

