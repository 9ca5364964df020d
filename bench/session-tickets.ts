/**
 * How many TLS session tickets a server sends on one connection: the client completes the
 * handshake, says close_notify at once and counts node's `session` events (one per
 * NewSessionTicket) until the server closes. The bench's servers send none (hosts.ts starts them
 * with no-session-tickets.cnf); a count above 0 in the notes means the round trips counted
 * through the delaying proxy include a ticket flight.
 */
import {connect, type SecureContext} from 'node:tls';

export function sessionTickets(host: string, port: number, context: SecureContext): Promise<number> {
	return new Promise((resolve, reject) => {
		let tickets = 0;
		let secured = false;
		const socket = connect({host, port, secureContext: context, minVersion: 'TLSv1.3', rejectUnauthorized: true, checkServerIdentity: () => undefined});
		socket.on('secureConnect', () => {
			secured = true;
			socket.end();
		});
		socket.on('session', () => {
			tickets++;
		});
		socket.on('data', () => undefined);
		socket.on('error', (error: Error) => {
			if (!secured) {
				reject(error);
			}
		});
		socket.on('close', () => {
			if (secured) {
				resolve(tickets);
			} else {
				reject(new Error(`${host}:${port} closed before the handshake completed`));
			}
		});
	});
}
