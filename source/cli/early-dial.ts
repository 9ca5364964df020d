/**
 * The one-shot's first round trips, overlapped with the CLI's start: when the command line is a
 * run on one named agent, early-socket.ts has opened a TCP connection to it before anything else
 * was loaded; this starts the TLS handshake on it once node's TLS code is loaded and the
 * controller's credentials are read, while the command table, the run's code and the home's other
 * files load, and the run takes the connection instead of dialling (dispatch/tls-link.ts). The
 * connection is made as any other is: the controller's credentials from the home, TLS 1.3 with the
 * fleet CA alone, the agent's identity checked at the handshake against the name and the
 * registry's refused serials (agent-identity.ts); and checked again, against the registry as the
 * run reads it, when the run takes it. Nothing is sent on it until the run has been resolved and
 * recorded as always. A connection the command does not take (refused before anything ran,
 * another agent) is closed. No early socket, or one that has already failed (refused), means no
 * early connection: the command dials as it always does, and reports what it meets.
 */
import {readFileSync} from 'node:fs';
import type {TLSSocket} from 'node:tls';
import type {EarlyConnection} from '../dispatch/agent-connection.js';
import {createTlsContext, dialAgent} from '../dispatch/agent-identity.js';
import type {EarlySocket} from './early-socket.js';

export function dialEarly(early: EarlySocket | undefined): EarlyConnection | undefined {
	if (!early) {
		return undefined;
	}

	const {agent, paths, registry, address} = early;
	try {
		const revoked = new Set((registry.revoked ?? []).flatMap(entry => (typeof entry?.serial === 'string' ? [entry.serial] : [])));
		const credentials = {key: readFileSync(paths.controllerKey, 'utf8'), cert: readFileSync(paths.controllerCert, 'utf8'), ca: readFileSync(paths.caCert, 'utf8')};
		const tls = createTlsContext(credentials);
		// A TLS socket on a TCP socket that has already failed would wait for ever: the command dials instead.
		if (early.failed()) {
			early.socket.destroy();
			return undefined;
		}

		const socket = dialAgent(address, tls, agent, revoked, early.socket);
		const secured = new Promise<TLSSocket | undefined>(resolve => {
			socket.once('secureConnect', () => {
				resolve(socket);
			});
			// A refusal here is met again, and reported, by the command's own connection.
			socket.on('error', () => {
				resolve(undefined);
			});
			socket.once('close', () => {
				resolve(undefined);
			});
		});
		let taken = false;
		return {
			credentials,
			tls,
			take(name) {
				if (taken || name !== agent) {
					return undefined;
				}

				taken = true;
				return secured;
			},
			close() {
				if (!taken) {
					socket.destroy();
				}
			},
		};
	} catch {
		early.socket.destroy();
		return undefined;
	}
}
