/**
 * The real ConsoleCore of one controller home: the registry, discovery, runs and dry runs through
 * the one run use case (console-run.ts), the pairing listener (console-pairing.ts), the history,
 * the audit trail, approvals and runbooks.
 */
import {createClientContext} from '../dispatch/agent-connection.js';
import {discoverAgents, type Discovered} from '../dispatch/discover.js';
import {historyDirectory, listRuns} from '../history/run-store.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';
import {loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import type {HostPort} from '../io/address.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import {controllerAuditVerifier} from '../audit/controller-log.js';
import {auditView} from '../core/audit.js';
import {createApprovalsFace} from '../approvals/face.js';
import {resolvePlanHashAgain} from '../approvals/resolve-again.js';
import type {ConsoleCore} from './core.js';
import {consoleDryRun, consoleRun} from './console-run.js';
import {openConsolePairing} from './console-pairing.js';
import {createConsoleRunbooks} from './console-runbooks.js';
import {discoverFleetViews} from './fleet-views.js';

/** `token`: the operator's own token (XI_EXEC_TOKEN), with which the approvals screen approves and rejects. */
export type ConsoleCoreOptions = {caller: string; pairListen: HostPort; parallel?: number; timeoutSeconds?: number; token?: string};

export function createConsoleCore(paths: ControllerPaths, options: ConsoleCoreOptions): ConsoleCore {
	const registry = openControllerRegistry(paths);
	const credentials = loadControllerCredentials(paths);
	const context = createClientContext(credentials);
	const controllerSerial = normaliseSerial(new x509.X509Certificate(credentials.cert).serialNumber);
	const runPorts = {paths, registry, context, controllerSerial};
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
		run: (request, onEvent) => consoleRun(runPorts, options, request, onEvent),
		dryRun: async request => consoleDryRun(runPorts, options, request),
		openPairing: async onEvent => openConsolePairing(paths, registry, options.pairListen, onEvent),
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
