/**
 * The first step of a one-shot's early dial (early-dial.ts), taken before anything else is loaded:
 * when the command line is a run on one named agent (early-target.ts) with a direct address in the
 * registry, a plain TCP connection to it is opened, so that its round trip passes while node loads
 * the TLS code, the controller's credentials are read and the TLS client context is made; the TLS
 * handshake then starts on this socket (early-dial.ts). Nothing is sent on it before that
 * handshake, and nothing but the handshake before the run has been resolved and recorded.
 *
 * Only node:net, node:fs and small pure modules: source/cli.ts imports this statically, and the
 * CLI's CommonJS entry (scripts/bundle.js) runs it before node's ES module loader has started.
 * Anything unusual (no registry, no such agent, a relay agent, NODE_TLS_REJECT_UNAUTHORIZED=0,
 * which the command then refuses) means no socket: the command dials as it always does.
 */
import {readFileSync} from 'node:fs';
import {connect, type Socket} from 'node:net';
import {controllerPaths, resolveControllerHome, type ControllerPaths} from '../home-paths.js';
import {parseHostPort, type HostPort} from '../io/address.js';
import {earlyTarget} from './early-target.js';

/** The registry file as far as the early dial reads it. */
export type EarlyRegistry = {agents?: Array<{name?: unknown; address?: unknown; transport?: unknown}>; revoked?: Array<{serial?: unknown}>};

export type EarlySocket = {
	agent: string;
	paths: ControllerPaths;
	registry: EarlyRegistry;
	address: HostPort;
	socket: Socket;
	/** Whether the socket has failed or closed (a refused connection): no TLS handshake can start on it then. */
	failed: () => boolean;
};

export function openEarlySocket(argv: readonly string[], env: NodeJS.ProcessEnv): EarlySocket | undefined {
	const target = earlyTarget(argv);
	if (!target || env['NODE_TLS_REJECT_UNAUTHORIZED'] === '0') {
		return undefined;
	}

	try {
		const paths = controllerPaths(resolveControllerHome(target.home, env));
		const registry = JSON.parse(readFileSync(paths.registry, 'utf8')) as EarlyRegistry;
		const record = registry.agents?.find(agent => agent?.name === target.agent);
		const address = typeof record?.address === 'string' ? parseHostPort(record.address) : undefined;
		if (!record || (record.transport ?? 'tls') !== 'tls' || address === undefined || typeof address === 'string') {
			return undefined;
		}

		const socket = connect({host: address.host, port: address.port});
		let failed = false;
		// A refusal here is met again, and reported, by the command's own connection.
		socket.on('error', () => {
			failed = true;
		});
		socket.once('close', () => {
			failed = true;
		});
		return {agent: target.agent, paths, registry, address, socket, failed: () => failed || socket.destroyed};
	} catch {
		return undefined;
	}
}
