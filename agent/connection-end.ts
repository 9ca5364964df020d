/** How the agent writes frames and ends a connection: one last frame, then the peer's side is drained and closed. */
import type {TLSSocket} from 'node:tls';
import {encodeFrame} from '../source/protocol/encode.js';
import type {ProtocolErrorCode} from '../source/protocol/frames.js';

/** How long a peer has, after the agent's last frame, to read it and close its side. */
const closeGraceMs = 10_000;

/**
 * The last frame of a connection, sent once: a second end() is a write after end, which
 * destroys the socket and the frame with it. Whatever the peer still sends is read and
 * dropped, and the socket is closed when the peer closes its side: closing with unread input
 * sends a reset, which can overtake the frame at a peer that is slow to read. A peer that
 * never closes is cut off after a grace period.
 */
export function endConnection(socket: TLSSocket, line?: string): void {
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

/** An error frame as the connection's last. */
export function refuse(socket: TLSSocket, id: string, code: ProtocolErrorCode, message: string): void {
	endConnection(socket, encodeFrame({type: 'error', id, code, message}));
}

/** A frame, unless the connection is already ending. */
export function sendOn(socket: TLSSocket, line: string): void {
	if (!socket.destroyed && socket.writable) {
		socket.write(line);
	}
}

/** How long a run's frame waits for the frames that follow it (batchedSender). */
export const frameBatchMs = 5;

/**
 * A run's frames, batched: a frame waits up to `batchMs` for those that follow it (`started` for
 * the script's first output, a chunk for the next), and the connection's end sends what waits
 * (`end()` uncorks), so one TLS record and one write carry several frames and the controller
 * decrypts and reads fewer. When the wait is over, what waits goes out at the end of that turn of
 * the event loop (setImmediate), after the I/O already ready in it: a busy agent's timers fire
 * before its pipes are read, so output that arrived during the wait is read first and joins the
 * frames waiting, rather than going in a write of its own. A frame is late by at most `batchMs`
 * and that turn's I/O; nothing is reordered or dropped while the connection is open.
 */
export function batchedSender(socket: TLSSocket, batchMs = frameBatchMs): (line: string) => void {
	let waiting = false;
	const send = () => {
		waiting = false;
		if (socket.writableCorked > 0) {
			socket.uncork();
		}
	};

	const endOfTurn = () => setImmediate(send);
	return line => {
		if (socket.destroyed || !socket.writable) {
			return;
		}

		if (!waiting) {
			waiting = true;
			socket.cork();
			setTimeout(endOfTurn, batchMs);
		}

		socket.write(line);
	};
}
