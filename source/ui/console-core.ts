/** The real ConsoleCore: the registry, discovery, the dispatcher and the pairing listener of one controller home. */
import {randomUUID} from 'node:crypto';
import {hostname} from 'node:os';
import {createClientContext} from '../dispatch/agent-connection.js';
import {discoverAgents} from '../dispatch/discover.js';
import {dispatch} from '../dispatch/dispatcher.js';
import {loadCertificateAuthority, loadControllerCredentials, loadServerCredentials, openControllerRegistry, readControllerCertificate, type ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {openPairingListener} from '../pairing/listener.js';
import {pairingAuditFields} from '../pairing/audit-fields.js';
import {controllerAuditVerifier, openControllerAudit} from '../audit/controller-log.js';
import {auditView} from '../commands/audit.js';
import type {ConsoleCore} from './core.js';

export type ConsoleCoreOptions = {caller: string; pairListen: HostPort; parallel?: number; timeoutSeconds?: number};

export function createConsoleCore(paths: ControllerPaths, options: ConsoleCoreOptions): ConsoleCore {
	const registry = openControllerRegistry(paths);
	const context = createClientContext(loadControllerCredentials(paths));
	return {
		async loadAgents() {
			return (await registry.read()).agents;
		},
		async discover(agents, onFound) {
			await discoverAgents(agents, context, {parallel: 64, timeoutMs: 3000, onResult: onFound});
		},
		run(request, onEvent) {
			const requestId = randomUUID();
			const cancel = new AbortController();
			const done = registry.read().then(({agents}) => dispatch(agents.filter(agent => request.targets.includes(agent.name)), {
				requestId,
				script: request.script,
				args: Object.freeze([...request.args]),
				caller: options.caller,
				timeoutMs: (options.timeoutSeconds ?? 30) * 1000,
				dryRun: false,
			}, {context, parallel: options.parallel ?? 64, cancel: cancel.signal, emit: onEvent}));
			return {requestId, cancel: () => cancel.abort(), done};
		},
		async openPairing(onEvent) {
			// Every attempt is audited, from the console as from `xi-exec pair`.
			const audit = openControllerAudit(paths);
			const listener = await openPairingListener({
				listen: options.pairListen,
				server: loadServerCredentials(paths),
				ca: await loadCertificateAuthority(paths),
				controllerCertificate: readControllerCertificate(paths),
				controllerName: hostname(),
				registry,
				replace: false,
				timeoutMs: 5 * 60 * 1000,
				now: () => new Date(),
				onEvent(event) {
					const fields = pairingAuditFields(event);
					if (fields) {
						void audit.append(fields).catch(() => undefined);
					}

					onEvent(event);
				},
			});
			return {
				address: listener.address,
				approve: listener.approve,
				reject: listener.reject,
				async close() {
					await listener.close();
					await audit.close().catch(() => undefined);
				},
			};
		},
		async readAudit(query) {
			return auditView(paths.auditLog, controllerAuditVerifier(paths), query);
		},
	};
}
