/**
 * The real ConsoleCore: the registry, discovery, runs through the one run use case (resolvePlan,
 * then executePlan: audited, fail closed, witnessed, kept in the history, like `xi-exec run`)
 * and the pairing listener of one controller home.
 */
import {randomUUID} from 'node:crypto';
import {hostname} from 'node:os';
import {createClientContext} from '../dispatch/agent-connection.js';
import {discoverAgents, type Discovered} from '../dispatch/discover.js';
import {createRunConnections, type RunConnections} from '../dispatch/held-connections.js';
import {collectResults} from '../run/collect-results.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {executePlan} from '../core/run-execute.js';
import {resolvePlan, type RunRequest as PlanRequest} from '../core/run-plan.js';
import {planOnceApproved} from '../approvals/wait-in-place.js';
import {dryRunAnswer} from '../output/dry-run-view.js';
import {historyDirectory} from '../history/run-store.js';
import {listRuns} from '../history/run-store.js';
import type {AuditLog} from '../audit/file-log.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';
import {loadCertificateAuthority, loadControllerCredentials, loadServerCredentials, openControllerRegistry, readControllerCertificate, type ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import {openPairingListener} from '../pairing/listener.js';
import {refreshBroker} from '../relay/broker-refresh.js';
import {createPairingAuditRecorder} from '../pairing/audit-fields.js';
import {controllerAuditVerifier, openControllerAudit} from '../audit/controller-log.js';
import {auditView} from '../core/audit.js';
import {createApprovalsFace} from '../approvals/face.js';
import {resolvePlanHashAgain} from '../approvals/resolve-again.js';
import type {ConsoleCore, RunRequest} from './core.js';
import {consoleRunDefaults} from './screens/run/run-controls.js';
import {createConsoleRunbooks} from './console-runbooks.js';
import {discoverFleetViews} from './fleet-views.js';

/** `token`: the operator's own token (XI_EXEC_TOKEN), with which the approvals screen approves and rejects. */
export type ConsoleCoreOptions = {caller: string; pairListen: HostPort; parallel?: number; timeoutSeconds?: number; token?: string};

export function createConsoleCore(paths: ControllerPaths, options: ConsoleCoreOptions): ConsoleCore {
	const registry = openControllerRegistry(paths);
	const credentials = loadControllerCredentials(paths);
	const context = createClientContext(credentials);
	const controllerSerial = normaliseSerial(new x509.X509Certificate(credentials.cert).serialNumber);
	const planRequest = (request: RunRequest, dryRun: boolean): PlanRequest => ({
		script: request.script,
		args: request.args,
		// Each name is one clause of the selector: these agents, as the console shows them.
		on: request.targets,
		parallel: options.parallel ?? consoleRunDefaults.parallel,
		timeoutSeconds: request.timeoutSeconds ?? options.timeoutSeconds ?? consoleRunDefaults.timeoutSeconds,
		dryRun,
		caller: options.caller,
		...(request.rollout ? {rollout: request.rollout} : {}),
		// The console has asked the operator to type the number of targets of a `confirm` script.
		yes: true,
		// Approvals act on the operator's own token (XI_EXEC_TOKEN), as `xi-exec run` does.
		...(options.token === undefined ? {} : {token: options.token}),
	});
	// Each run keeps its describe's connections for the run, as `xi-exec run` does: one handshake a host.
	const ports = (audit: () => AuditLog, connections: RunConnections) => ({paths, registry, audit, context, controllerSerial, connections});
	return {
		close: async () => context.close(),
		async loadAgents() {
			return (await registry.read()).agents;
		},
		async discover(agents, onView) {
			const revoked = revokedSerials(await registry.read());
			// In the background, so an agent slow to answer on a loaded host is given 10 s (the CLI's `agents`: 3).
			const discover = async (selected: readonly AgentRecord[], onResult: (found: Discovered) => void) => discoverAgents(selected, context, {parallel: 64, timeoutMs: 10_000, revoked, onResult});
			await discoverFleetViews({registry, discover, now: () => new Date()}, agents, onView);
		},
		run(request, onEvent) {
			const requestId = randomUUID();
			const cancel = new AbortController();
			let emitted = false;
			// The handle answers every host's result (the run's panes hold them anyway).
			const {emit, results: collected} = collectResults((event: RunEvent) => {
				emitted = true;
				onEvent(event);
			});

			const done = (async (): Promise<AgentResult[]> => {
				let audit: AuditLog | undefined;
				const connections = createRunConnections();
				try {
					const runPorts = ports(() => (audit ??= openControllerAudit(paths)), connections);
					// A run the approvals policy names waits here for its decision (approvals/wait-in-place.ts).
					const {plan, approval} = await planOnceApproved(runPorts, {...planRequest(request, false), requestId}, {signal: cancel.signal, ...(request.onApproval ? {onWait: request.onApproval} : {})});
					const execution = await executePlan(runPorts, plan, {emit, cancel: cancel.signal, cancelledBy: options.caller, ...(approval ? {approval} : {}), ...(request.approveCanary ? {approveCanary: request.approveCanary} : {})});
					await execution.outcome;
					return collected();
				} catch (error) {
					if (emitted) {
						return [];
					}

					// Refused before anything was dialled (or the request could not be recorded): each target says why.
					const reason = (error as Error).message;
					const results = request.targets.map((agent): AgentResult => ({agent, status: 'error', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason}));
					onEvent({type: 'run-started', requestId, script: request.script, args: request.args, targets: request.targets});
					for (const result of results) {
						onEvent({type: 'agent-finished', result});
					}

					onEvent({type: 'run-finished', requestId});
					return results;
				} finally {
					connections.close();
					await audit?.close().catch(() => undefined);
				}
			})();
			return {requestId, cancel: () => cancel.abort(), done};
		},
		async dryRun(request) {
			let audit: AuditLog | undefined;
			const connections = createRunConnections();
			try {
				const run = ports(() => (audit ??= openControllerAudit(paths)), connections);
				const plan = await resolvePlan(run, planRequest(request, true));
				// Every host answers a dry run: with nothing run, there is no canary to wait on.
				const answered = collectResults();
				await (await executePlan(run, plan, {approveCanary: async () => true, emit: answered.emit})).outcome;
				const results = answered.results();
				return {
					requestId: plan.requestId,
					planHash: plan.hash,
					targets: plan.targets.map(target => target.name),
					parallel: plan.parallel,
					timeoutSeconds: plan.timeoutSeconds,
					answers: results.map(result => dryRunAnswer(result)),
					notes: plan.notes,
				};
			} finally {
				connections.close();
				await audit?.close().catch(() => undefined);
			}
		},
		async openPairing(onEvent) {
			// Every attempt is audited, from the console as from `xi-exec pair`.
			const audit = openControllerAudit(paths);
			const recorder = createPairingAuditRecorder(audit.append, {now: () => new Date()});
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
		},
		async listRuns(limit) {
			return listRuns(historyDirectory(paths), limit);
		},
		async readAudit(query) {
			return auditView(paths.auditLog, controllerAuditVerifier(paths), query);
		},
		// The approvals use case as the CLI's `approvals|approve|reject` has it, acting on the operator's token.
		approvals: createApprovalsFace({paths, resolvePlanHash: resolvePlanHashAgain(paths)}, {token: options.token, client: 'xi-exec console'}),
		// The runbook use case as `xi-exec runbook` has it, under the operator's token.
		runbooks: createConsoleRunbooks({paths, registry, context, controllerSerial, caller: options.caller, ...(options.token === undefined ? {} : {token: options.token})}),
	};
}
