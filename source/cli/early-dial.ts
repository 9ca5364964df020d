/**
 * The one-shot's first round trips, overlapped with the CLI's start: when the command line is a
 * run on one named agent (early-target.ts), the TCP and TLS handshakes with it start before the
 * command table, the run's code and the home's other files are loaded, and the run takes the
 * connection instead of dialling (dispatch/tls-link.ts). The connection is made as any other is:
 * the controller's credentials from the home, TLS 1.3 with the fleet CA alone, the agent's
 * identity checked at the handshake against the name and the registry's refused serials
 * (agent-identity.ts); and checked again, against the registry as the run reads it, when the run
 * takes it. Nothing is sent on it until the run has been resolved and recorded as always. A
 * connection the command does not take (refused before anything ran, another agent) is closed.
 * Anything unusual (no registry, no such agent, a relay agent, NODE_TLS_REJECT_UNAUTHORIZED=0,
 * which the command then refuses) means no early connection: the command dials as it always does.
 */
import {readFileSync} from 'node:fs';
import type {TLSSocket} from 'node:tls';
import type {EarlyConnection} from '../dispatch/agent-connection.js';
import {createTlsContext, dialAgent} from '../dispatch/agent-identity.js';
import {controllerPaths, resolveControllerHome} from '../home-paths.js';
import {parseHostPort} from '../io/address.js';
import {earlyTarget} from './early-target.js';

type RegistryFile = {agents?: Array<{name?: unknown; address?: unknown; transport?: unknown}>; revoked?: Array<{serial?: unknown}>};

export function dialEarly(argv: readonly string[], env: NodeJS.ProcessEnv): EarlyConnection | undefined {
	const target = earlyTarget(argv);
	if (!target || env['NODE_TLS_REJECT_UNAUTHORIZED'] === '0') {
		return undefined;
	}

	try {
		const paths = controllerPaths(resolveControllerHome(target.home, env));
		const registry = JSON.parse(readFileSync(paths.registry, 'utf8')) as RegistryFile;
		const record = registry.agents?.find(agent => agent?.name === target.agent);
		const address = typeof record?.address === 'string' ? parseHostPort(record.address) : undefined;
		if (!record || (record.transport ?? 'tls') !== 'tls' || address === undefined || typeof address === 'string') {
			return undefined;
		}

		const revoked = new Set((registry.revoked ?? []).flatMap(entry => (typeof entry?.serial === 'string' ? [entry.serial] : [])));
		const credentials = {key: readFileSync(paths.controllerKey, 'utf8'), cert: readFileSync(paths.controllerCert, 'utf8'), ca: readFileSync(paths.caCert, 'utf8')};
		const tls = createTlsContext(credentials);
		const socket = dialAgent(address, tls, target.agent, revoked);
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
			take(agent) {
				if (taken || agent !== target.agent) {
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
		return undefined;
	}
}
