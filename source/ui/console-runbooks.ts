/**
 * The real RunbooksPort: the runbook use case of one controller home (source/runbooks/), as
 * `xi-exec runbook list|show|run` has it — the same checks, records, audit and policy per step —
 * with the operator's questions (a `confirm` script, a canary) asked on the console's screen.
 * Each call opens the audit log when it first needs it and closes it when it ends.
 */
import type {AuditLog} from '../audit/file-log.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {ControllerPaths} from '../home.js';
import type {RegistryStore} from '../registry/store.js';
import {dryRunSteps} from '../runbooks/dry-run.js';
import {stageSteps} from '../runbooks/model.js';
import {planDocument} from '../runbooks/plan-document.js';
import {prepareRunbookRun, type RunbookPorts} from '../runbooks/prepare-runbook.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {listRunbookFiles, readRunbookBytes} from '../runbooks/runbook-files.js';
import type {RunbookEntry, RunbooksPort} from './core.js';

export type ConsoleRunbooksOptions = {
	paths: ControllerPaths;
	registry: RegistryStore;
	context: ClientContext;
	controllerSerial: string;
	caller: string;
	/** The operator's own token (XI_EXEC_TOKEN): each step runs under its scope, as the CLI's. */
	token?: string;
};

export function createConsoleRunbooks(options: ConsoleRunbooksOptions): RunbooksPort {
	const {caller} = options;
	const token = options.token === undefined ? {} : {token: options.token};
	// One audit log per call, opened on first use and closed when the call ends.
	const withPorts = async <T>(use: (ports: RunbookPorts) => Promise<T>): Promise<T> => {
		let audit: AuditLog | undefined;
		try {
			return await use({paths: options.paths, registry: options.registry, audit: () => (audit ??= openControllerAudit(options.paths)), context: options.context, controllerSerial: options.controllerSerial});
		} finally {
			await audit?.close().catch(() => undefined);
		}
	};

	return {
		async list() {
			return listRunbookFiles(options.paths).map((file): RunbookEntry => {
				try {
					const bytes = readRunbookBytes(options.paths, file.name);
					const read = readRunbook(file.name, bytes.text, bytes.format);
					if (!read.ok) {
						return {name: file.name, file: file.file, parameters: [], steps: 0, problems: read.problems};
					}

					const {runbook} = read;
					const steps = runbook.stages.reduce((sum, stage) => sum + stageSteps(stage).length, 0) + runbook.handlers.length;
					return {name: file.name, file: file.file, ...(runbook.description ? {description: runbook.description} : {}), parameters: runbook.parameters, steps, problems: []};
				} catch (error) {
					return {name: file.name, file: file.file, parameters: [], steps: 0, problems: [(error as Error).message]};
				}
			});
		},
		async plan(name, params) {
			return withPorts(async ports => {
				const prepared = await prepareRunbookRun(ports, {name, params, caller, ...token});
				const policy = await dryRunSteps(ports, prepared, {caller, ...token});
				return planDocument({...prepared, policy});
			});
		},
		run(name, params, handlers) {
			const cancel = new AbortController();
			let started!: (value: {id: string}) => void;
			let refused!: (error: unknown) => void;
			const startedPromise = new Promise<{id: string}>((resolve, reject) => {
				started = resolve;
				refused = reject;
			});
			const done = withPorts(async ports => {
				let prepared;
				try {
					prepared = await prepareRunbookRun(ports, {name, params, caller, ...token});
				} catch (error) {
					refused(error);
					throw error;
				}

				started({id: prepared.id});
				const result = await prepared.start({
					cancel: cancel.signal,
					cancelledBy: caller,
					yes: false,
					confirm: handlers.confirm,
					approveCanary: async (step, canary) => handlers.approveCanary(step, canary.length),
					waitingForApproval: handlers.onWaiting,
					emit: handlers.onEvent,
				});
				return {id: result.id, status: result.status, ...(result.reason ? {reason: result.reason} : {})};
			});
			// Whoever follows `started` hears a refusal there; `done` is not left unhandled.
			done.catch(() => undefined);
			return {started: startedPromise, cancel: () => cancel.abort(), done};
		},
	};
}
