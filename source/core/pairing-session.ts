/**
 * Pairing from the controller's home, as every face does it (`xi-exec pair`, the console's pairing
 * screen): the listener with the home's CA and server credentials, every attempt audited, and a
 * relay agent's broker user written once it is paired (an unpairing takes it away the same way).
 * Closing waits for the broker refreshes and the audit records already started.
 */
import {hostname} from 'node:os';
import {openControllerAudit} from '../audit/controller-log.js';
import {loadCertificateAuthority, loadServerCredentials, readControllerCertificate, type ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {createPairingAuditRecorder} from '../pairing/audit-fields.js';
import {openPairingListener, type PairingEvent, type PairingListener} from '../pairing/listener.js';
import type {OperatorTransport} from '../pairing/transport-choice.js';
import type {RegistryStore} from '../registry/store.js';
import {refreshBroker} from '../relay/broker-refresh.js';

export type PairingSessionOptions = {
	listen: HostPort;
	registry: RegistryStore;
	replace: boolean;
	transport?: OperatorTransport;
	timeoutMs: number;
	onEvent: (event: PairingEvent) => void;
	/** A paired relay agent's broker user was written (ok) or could not be (the sentence says what to do). */
	onBroker?: (agent: string, outcome: {ok: boolean; sentence: string}) => void;
	/** An audit record could not be written. */
	onAuditError?: (error: unknown) => void;
};

export async function openPairingSession(paths: ControllerPaths, options: PairingSessionOptions): Promise<PairingListener> {
	const audit = openControllerAudit(paths);
	const recorder = createPairingAuditRecorder(audit.append, {now: () => new Date(), ...(options.onAuditError ? {onError: options.onAuditError} : {})});
	let brokerRefreshed = Promise.resolve();
	const closeAudit = async () => {
		await brokerRefreshed;
		await recorder.close();
		await audit.close().catch(() => undefined);
	};

	let listener: PairingListener;
	try {
		listener = await openPairingListener({
			listen: options.listen,
			server: loadServerCredentials(paths),
			ca: await loadCertificateAuthority(paths),
			controllerCertificate: readControllerCertificate(paths),
			controllerName: hostname(),
			registry: options.registry,
			replace: options.replace,
			...(options.transport ? {transport: options.transport} : {}),
			timeoutMs: options.timeoutMs,
			now: () => new Date(),
			onEvent(event) {
				recorder.record(event);
				options.onEvent(event);
				if (event.event === 'paired' && event.transport !== undefined && event.transport !== 'tls') {
					// Approved and recorded: the broker gets the agent's user now (audited as relay.config).
					brokerRefreshed = brokerRefreshed.then(async () => refreshBroker(paths, audit)).then(outcome => {
						options.onBroker?.(event.agent, outcome);
					});
				}
			},
		});
	} catch (error) {
		await closeAudit();
		throw error;
	}

	return {
		...listener,
		async close() {
			await listener.close();
			await closeAudit();
		},
	};
}
