/**
 * The controller's client identity for dialling agents, reloaded when controller.pem changes (a
 * rotation completed by `xi-exec rotate` or by another process): agents retire the old serial at
 * their first contact with the new one, and a long-running server must not be left behind, nor
 * keep the old certificate's connections (to a relay broker) open for ever.
 */
import {X509Certificate} from 'node:crypto';
import {statSync} from 'node:fs';
import {createClientContext, type ClientContext} from '../dispatch/agent-connection.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {relayLimits} from '../protocol/relay-envelope.js';

export type ControllerClient = {context: ClientContext; serial: string};

/** The current client, and close(): closes it and every one a rotation retired (the server is stopping). */
export type ControllerClients = (() => ControllerClient) & {close: () => Promise<void>};

/**
 * A rotation retires the client made with the old certificate, but not at once: runs started
 * with it may still be going over its connections (its relay links' broker connections among
 * them). It is closed `retireAfterMs` later (by default the longest a relay request lives), or
 * when the server stops, whichever comes first; its timer never keeps the process alive.
 */
export function currentControllerClient(paths: ControllerPaths, initial: TlsCredentials, options: {retireAfterMs?: number; create?: (credentials: TlsCredentials) => ClientContext} = {}): ControllerClients {
	const create = options.create ?? createClientContext;
	const retireAfterMs = options.retireAfterMs ?? relayLimits.maxLifetimeMs;
	const make = (credentials: TlsCredentials) => ({context: create(credentials), serial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)});
	let current = make(initial);
	let seen = modifiedAt(paths.controllerCert);
	const retired = new Set<ClientContext>();
	const retire = (context: ClientContext) => {
		retired.add(context);
		setTimeout(() => {
			retired.delete(context);
			void context.close().catch(() => undefined);
		}, retireAfterMs).unref();
	};

	const clients = () => {
		const now = modifiedAt(paths.controllerCert);
		if (now !== seen) {
			seen = now;
			try {
				const replaced = current;
				current = make(loadControllerCredentials(paths));
				retire(replaced.context);
			} catch {
				// Mid-rotation (the key moved, the certificate not yet): keep the last good one.
			}
		}

		return current;
	};

	return Object.assign(clients, {
		async close() {
			const all = [current.context, ...retired];
			retired.clear();
			await Promise.allSettled(all.map(async context => context.close()));
		},
	});
}

function modifiedAt(path: string): number | undefined {
	try {
		return statSync(path).mtimeMs;
	} catch {
		return undefined;
	}
}
