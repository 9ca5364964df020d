/**
 * The console's pairing listener (the pairing screen's `p`): every attempt audited, as from
 * `xi-exec pair`, and a relay agent's user handed to the broker once it is paired.
 */
import {hostname} from 'node:os';
import {openControllerAudit} from '../audit/controller-log.js';
import {loadCertificateAuthority, loadServerCredentials, readControllerCertificate, type ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {createPairingAuditRecorder} from '../pairing/audit-fields.js';
import {openPairingListener, type PairingEvent} from '../pairing/listener.js';
import type {RegistryStore} from '../registry/store.js';
import {refreshBroker} from '../relay/broker-refresh.js';
import type {PairingHandle} from './core.js';

export async function openConsolePairing(paths: ControllerPaths, registry: RegistryStore, listen: HostPort, onEvent: (event: PairingEvent) => void): Promise<PairingHandle> {
	const audit = openControllerAudit(paths);
	const recorder = createPairingAuditRecorder(audit.append, {now: () => new Date()});
	const listener = await openPairingListener({
		listen,
		server: loadServerCredentials(paths),
		ca: await loadCertificateAuthority(paths),
		controllerCertificate: readControllerCertificate(paths),
		controllerName: hostname(),
		registry,
		replace: false,
		timeoutMs: 5 * 60 * 1000,
		now: () => new Date(),
		onEvent(event) {
			recorder.record(event);
			onEvent(event);
			if (event.event === 'paired' && event.transport !== undefined && event.transport !== 'tls') {
				// As `xi-exec pair` does: the broker gets the relay agent's user (audited as relay.config).
				void refreshBroker(paths, audit);
			}
		},
	});
	return {
		address: listener.address,
		approve: listener.approve,
		reject: listener.reject,
		async close() {
			await listener.close();
			await recorder.close();
			await audit.close().catch(() => undefined);
		},
	};
}
