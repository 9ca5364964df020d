/**
 * The controller's client identity for dialling agents, reloaded when controller.pem changes (a
 * rotation completed by `xi-exec rotate` or by another process): agents retire the old serial at
 * their first contact with the new one, and a long-running server must not be left behind.
 */
import {X509Certificate} from 'node:crypto';
import {statSync} from 'node:fs';
import {createClientContext, type ClientContext} from '../dispatch/agent-connection.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import type {TlsCredentials} from '../pki/credentials.js';
import {normaliseSerial} from '../pki/fingerprints.js';

export type ControllerClient = {context: ClientContext; serial: string};

export function currentControllerClient(paths: ControllerPaths, initial: TlsCredentials): () => ControllerClient {
	const make = (credentials: TlsCredentials) => ({context: createClientContext(credentials), serial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)});
	let current = make(initial);
	let seen = modifiedAt(paths.controllerCert);
	return () => {
		const now = modifiedAt(paths.controllerCert);
		if (now !== seen) {
			seen = now;
			try {
				current = make(loadControllerCredentials(paths));
			} catch {
				// Mid-rotation (the key moved, the certificate not yet): keep the last good one.
			}
		}

		return current;
	};
}

function modifiedAt(path: string): number | undefined {
	try {
		return statSync(path).mtimeMs;
	} catch {
		return undefined;
	}
}
