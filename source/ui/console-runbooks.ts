/**
 * The real RunbooksPort: the runbook use case of one controller home (source/runbooks/), as
 * `xi-exec runbook list|show|run` has it — the same checks, records, audit and policy per step —
 * with the operator's questions (a `confirm` script, a canary) asked on the console's screen.
 * Each call opens the audit log when it first needs it and closes it when it ends.
 */
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {ControllerPaths} from '../home.js';
import type {RegistryStore} from '../registry/store.js';
import {dryRunSteps} from '../runbooks/dry-run.js';
import {stageSteps} from '../runbooks/model.js';
import {planDocument} from '../runbooks/plan-document.js';
import {prepareRunbookRun, type PreparedRunbookRun, type RunbookPorts} from '../runbooks/prepare-runbook.js';
import {listRunbookRuns, runbookRunsDirectory} from '../runbooks/record-store.js';
import {runbookRunDocument} from '../runbooks/run-record.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {listRunbookFiles, readRunbookBytes} from '../runbooks/runbook-files.js';
import type {RunbookEntry, RunbookHandle, RunbookRunHandlers, RunbookRunEntry, RunbooksPort, RunbookStart} from './core.js';
import {withLazyAudit} from './lazy-audit.js';

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
	const withPorts = async <T>(use: (ports: RunbookPorts) => Promise<T>): Promise<T> => withLazyAudit(options.paths, async audit => use({
		paths: options.paths, registry: options.registry, audit, context: options.context, controllerSerial: options.controllerSerial,
	}));
	// A resumed run is the run it continues, by id (its runbook and parameters come from its record).
	const prepare: Prepare = async (ports, name, params, start) => prepareRunbookRun(ports, {
		...(start?.resume === undefined ? {name} : {resume: {id: start.resume}}),
		params,
		caller,
		...token,
	});

	return {
		list: async () => listRunbooks(options.paths),
		runs: async () => listRuns(options.paths),
		async plan(name, params, start) {
			return withPorts(async ports => {
				const prepared = await prepare(ports, name, params, start);
				const policy = await dryRunSteps(ports, prepared, {caller, ...token});
				const document = planDocument({...prepared, policy});
				return {...document, notes: [...resumeNotes(prepared), ...document.notes]};
			});
		},
		run: (name, params, handlers, start) => startRun(withPorts, async ports => prepare(ports, name, params, start), handlers, caller),
	};
}

type Prepare = (ports: RunbookPorts, name: string, params: Readonly<Record<string, unknown>>, start: RunbookStart | undefined) => Promise<PreparedRunbookRun>;

/** The runbook files, each read and checked: its parameters and number of steps, or every problem it has. */
function listRunbooks(paths: ControllerPaths): RunbookEntry[] {
	return listRunbookFiles(paths).map((file): RunbookEntry => {
		try {
			const bytes = readRunbookBytes(paths, file.name);
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
}

/** The runbook runs on record, newest first, as the runs list shows them. */
function listRuns(paths: ControllerPaths): RunbookRunEntry[] {
	return listRunbookRuns(runbookRunsDirectory(paths)).map((stored): RunbookRunEntry => {
		const run = runbookRunDocument(stored.record, stored.running);
		return {
			id: run.id,
			runbook: run.runbook,
			status: run.status,
			startedAt: run.startedAt,
			caller: run.caller,
			stepsOk: run.steps.filter(step => step.status === 'ok' || step.status === 'skipped').length,
			steps: run.steps.length + run.notRun.length,
			...(run.reason ? {reason: run.reason} : {}),
			...(run.resumeOf ? {resumeOf: run.resumeOf} : {}),
		};
	});
}

/**
 * A run of a runbook: `started` says its record's id once prepared (or the refusal), `done` how it
 * ended; the steps a resumed run carries over are told first, as they ended in the run it continues.
 */
function startRun(withPorts: <T>(use: (ports: RunbookPorts) => Promise<T>) => Promise<T>, prepare: (ports: RunbookPorts) => Promise<PreparedRunbookRun>, handlers: RunbookRunHandlers, caller: string): RunbookHandle {
	const cancel = new AbortController();
	let started!: (value: {id: string}) => void;
	let refused!: (error: unknown) => void;
	const startedPromise = new Promise<{id: string}>((resolve, reject) => {
		started = resolve;
		refused = reject;
	});
	const done = withPorts(async ports => {
		const prepared = await prepare(ports).catch((error: unknown) => {
			refused(error);
			throw error;
		});
		started({id: prepared.id});
		for (const [step, outcome] of prepared.carried) {
			handlers.onEvent({type: 'step-finished', step, outcome: {...outcome, reason: outcome.reason ?? `carried over from run ${prepared.resumeOf ?? ''}`}});
		}

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
}

/** What a resumed run's dry run says first: which run it continues, and from which step. */
function resumeNotes(prepared: PreparedRunbookRun): string[] {
	if (prepared.resumeOf === undefined) {
		return [];
	}

	const carried = [...prepared.carried.keys()];
	return [`resumes run ${prepared.resumeOf} from step ${prepared.from ?? '?'}${carried.length > 0 ? `; carried over: ${carried.join(', ')}` : ''}`];
}
