/**
 * The runbook use case every face calls: a runbook by name (or a run to resume), its parameters
 * and the caller → the whole runbook checked against the fleet (plan-runbook.ts; one RUNBOOK_INVALID
 * listing every problem, audited, nothing dialled) → a prepared run whose `start` records and
 * executes it, each step a normal run (step-runner.ts).
 *
 * A resumed run is a new runbook run (its own id, `resumeOf` the old one) that carries over the
 * outcomes before its resume point. It refuses a run still running in another process, and a
 * file whose hash differs from the recorded one unless `changedFile`. It keeps the old run's
 * parameters; secret ones are not recorded, so they are given again and must match their hashes.
 * A step the old run left waiting for approval is continued under the same approval request and
 * request id (the approval given meanwhile is what it runs with), unless the file changed: then
 * the step, as the file says now, asks anew. A step whose selector now matches other hosts than
 * in the run resumed runs on the hosts it matches now, with a note naming those added and removed.
 */
import {randomUUID} from 'node:crypto';
import {argsHash} from '../audit/record.js';
import {discoverAgents, type Discovered} from '../dispatch/discover.js';
import type {RunPorts} from '../core/run-execute.js';
import {XiError} from '../errors.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, scopeOf, type TokenScope} from '../policy/tokens.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import {executeRunbook, type ExecuteResult, type PendingStep, type RunbookEvent} from './execute.js';
import type {Runbook} from './model.js';
import {recordedParameters, resolveParameters, secretHash} from './parameters.js';
import {planRunbook, reachableAgents, type RunbookPlan} from './plan-runbook.js';
import {hostChangeNotes, plannedTargets} from './host-changes.js';
import {findRunbookRun, runbookRunsDirectory, startRunbookRecord, watchCancelRequest} from './record-store.js';
import {resumePoint} from './resume.js';
import {loadRunbook, readRunbookBytes, runbookInvalid} from './runbook-files.js';
import {recordedOutcomes, waitingSteps, type RunbookRunHeader} from './run-record.js';
import {runStepsAsRuns, type StepRunnerOptions} from './step-runner.js';
import type {StepOutcome} from './step-outcome.js';

export type RunbookPorts = RunPorts & {
	/** Asks the agents what they run (default: a describe exchange with each, 5 s). */
	discover?: (agents: readonly AgentRecord[]) => Promise<Discovered[]>;
};

export type RunbookRunInput = {
	/** The runbook's name; with `resume`, taken from the run resumed. */
	name?: string;
	/** Parameter values by name (the CLI's texts already read by valueFromText). */
	params: Readonly<Record<string, unknown>>;
	caller: string;
	source?: string;
	token?: string;
	resume?: {id: string; from?: string; changedFile?: boolean};
};

export type PreparedRunbookRun = {
	id: string;
	runbook: Runbook;
	plan: RunbookPlan;
	file: string;
	sha256: string;
	resumeOf?: string;
	/** The step a resumed run starts from. */
	from?: string;
	/** The steps carried over from the run resumed, with their outcomes there. */
	carried: ReadonlyMap<string, StepOutcome>;
	/** The steps the run resumed left waiting for approval: they continue under the same request. */
	pending: ReadonlyMap<string, PendingStep>;
	start: (options: RunbookStartOptions) => Promise<ExecuteResult & {id: string}>;
};

export type RunbookStartOptions = Omit<StepRunnerOptions, 'runbookRun' | 'caller' | 'source' | 'token' | 'cancelledBy'> & {
	/** This face's cancel (Ctrl-C, the API server's); a cancel from another process comes through the record. */
	cancel?: AbortSignal;
	/** Who fired `cancel`. */
	cancelledBy?: string;
	emit?: (event: RunbookEvent) => void;
};

export async function prepareRunbookRun(ports: RunbookPorts, input: RunbookRunInput): Promise<PreparedRunbookRun> {
	const now = ports.now ?? (() => new Date());
	const id = randomUUID();
	const resumed = input.resume ? findRunbookRun(runbookRunsDirectory(ports.paths), input.resume.id) : undefined;
	if (resumed?.running) {
		throw new XiError('RUNBOOK_RUNNING', `Runbook run ${input.resume!.id} is still running in another process; cancel it or wait for it to end (a controller killed mid-run lets go within 15 s).`);
	}

	const name = resumed ? resumed.record.header.runbook : input.name;
	if (name === undefined) {
		throw new XiError('USAGE', 'Name the runbook to run: xi-exec runbook run NAME, or --resume ID.');
	}

	if (resumed) {
		const bytes = readRunbookBytes(ports.paths, name);
		if (bytes.sha256 !== resumed.record.header.fileSha256 && !input.resume!.changedFile) {
			throw new XiError('RUNBOOK_CHANGED', `${bytes.file} changed since run ${resumed.record.header.id} (its SHA-256 was ${resumed.record.header.fileSha256.slice(0, 12)}…, it is ${bytes.sha256.slice(0, 12)}… now); resume with --changed-file to run the file as it is now.`);
		}
	}

	const {runbook, file, sha256} = loadRunbook(ports.paths, name);
	const params = resumed ? resumedParameters(runbook, resumed.record.header.parameters, input.params) : input.params;
	const audit = ports.audit();
	const refuse = async (error: XiError): Promise<never> => {
		// A refusal is recorded; if even that cannot be written, the refusal still stands.
		await audit.append({event: 'runbook.refused', runbookRun: id, runbook: name, fileSha256: sha256, caller: input.caller, source: input.source, code: error.code, reason: error.message}).catch(() => undefined);
		throw error;
	};

	const scope = input.token === undefined ? undefined : await tokenScope(ports, input.token, now()).catch(async (error: unknown) => refuse(error as XiError));
	const registry = await ports.registry.read();
	const values = resolveParameters(runbook, params);
	if (!values.ok) {
		return refuse(runbookInvalid(`The parameters of runbook ${name} are refused`, values.problems));
	}

	const reachable = reachableAgents(runbook, values.values, registry.agents);
	const discover = ports.discover ?? (async (agents: readonly AgentRecord[]) => discoverAgents(agents, ports.context, {parallel: 64, timeoutMs: 5000, revoked: revokedSerials(registry)}));
	const discovered = await discover(reachable);
	const planned = planRunbook(runbook, params, {agents: registry.agents, discovered, ...(scope ? {scope} : {})});
	if (!planned.ok) {
		return refuse(runbookInvalid(`Runbook ${name} cannot run as it is`, planned.problems, planned.outOfScope ? 'OUT_OF_SCOPE' : 'RUNBOOK_INVALID'));
	}

	let carried = new Map<string, StepOutcome>();
	let pending = new Map<string, PendingStep>();
	let from: {stage: number; step: string} | undefined;
	if (resumed) {
		const point = resumePoint(runbook, recordedOutcomes(resumed.record), input.resume!.from);
		if (!point.ok) {
			return refuse(new XiError('USAGE', `Cannot resume run ${resumed.record.header.id}: ${point.reason}.`));
		}

		const old = recordedOutcomes(resumed.record);
		carried = new Map(point.carried.map(step => [step, old.get(step)!]));
		from = {stage: point.from, step: point.step};
		if (sha256 === resumed.record.header.fileSha256) {
			pending = waitingSteps(resumed.record);
		}

		if (resumed.record.header.targets) {
			planned.plan.notes.push(...hostChangeNotes(planned.plan, {id: resumed.record.header.id, targets: resumed.record.header.targets}, new Set(carried.keys())));
		}
	}

	const start = async (options: RunbookStartOptions) => {
		const header: RunbookRunHeader = {
			type: 'runbook-run',
			id,
			runbook: name,
			file,
			fileSha256: sha256,
			parameters: recordedParameters(runbook, values.values),
			caller: input.caller,
			startedAt: now().toISOString(),
			...(scope ? {token: {id: scope.id, name: scope.name}} : {}),
			...(resumed ? {resumeOf: resumed.record.header.id, from: from!} : {}),
			...(resumed && sha256 !== resumed.record.header.fileSha256 ? {fileChanged: true} : {}),
			targets: plannedTargets(planned.plan),
		};
		// Fail closed: no record of the runbook's start, no runbook.
		await audit.append({event: 'runbook.start', runbookRun: id, runbook: name, file, fileSha256: sha256, parameters: header.parameters, parametersHash: argsHash([JSON.stringify(header.parameters)]), caller: input.caller, source: input.source, token: header.token, resumeOf: header.resumeOf, from: from?.step, ...(planned.plan.notes.length > 0 ? {notes: planned.plan.notes} : {})});
		const record = await startRunbookRecord(runbookRunsDirectory(ports.paths), header);
		const cancel = cancelSources(record.path, options);
		try {
			for (const [step, outcome] of carried) {
				record.write({type: 'step-finished', step, outcome, at: now().toISOString(), carriedFrom: resumed!.record.header.id});
			}

			const result = await executeRunbook({runbook, plan: planned.plan, carried, from: from?.stage ?? 0, pending}, {
				runStep: runStepsAsRuns(ports, {...options, runbookRun: id, runbookFile: {file, sha256}, caller: input.caller, ...(input.source ? {source: input.source} : {}), ...(input.token === undefined ? {} : {token: input.token}), cancelledBy: cancel.by}),
				write: record.write,
				now,
				newRequestId: randomUUID,
				cancel: cancel.signal,
				cancelledBy: cancel.by,
				checkCancel: cancel.check,
				...(options.emit ? {emit: options.emit} : {}),
			});
			await audit.append({event: 'runbook.end', runbookRun: id, runbook: name, status: result.status, reason: result.reason, steps: Object.fromEntries([...result.outcomes].map(([step, outcome]) => [step, {status: outcome.status, requestId: outcome.requestId, counts: outcome.counts}]))});
			return {...result, id};
		} finally {
			cancel.stop();
			await record.close();
		}
	};

	return {
		id,
		runbook,
		plan: planned.plan,
		file,
		sha256,
		...(resumed ? {resumeOf: resumed.record.header.id, from: from!.step} : {}),
		carried,
		pending,
		start,
	};
}

/**
 * The run's one cancel signal, fired by the face's own cancel or by a cancel request another
 * process appends to the record; `by` names whoever came first.
 */
function cancelSources(path: string, options: RunbookStartOptions) {
	const controller = new AbortController();
	let by: string | undefined;
	const fire = (who: string | undefined) => {
		if (!controller.signal.aborted) {
			by = who;
			controller.abort();
		}
	};

	const onLocal = () => fire(options.cancelledBy);
	if (options.cancel?.aborted) {
		onLocal();
	} else {
		options.cancel?.addEventListener('abort', onLocal, {once: true});
	}

	const watch = watchCancelRequest(path, request => fire(request.by));
	return {
		signal: controller.signal,
		by: () => by,
		check: watch.check,
		stop() {
			watch.stop();
			options.cancel?.removeEventListener('abort', onLocal);
		},
	};
}

async function tokenScope(ports: RunbookPorts, presented: string, now: Date): Promise<TokenScope> {
	const {tokens} = await openTokenStore(ports.paths.home).read();
	const check = authenticateToken(tokens, presented.trim(), now);
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	return scopeOf(check.token);
}

/** A resumed run's parameters: the recorded ones; each secret given again, matching its recorded hash. */
function resumedParameters(runbook: Runbook, recorded: Readonly<Record<string, unknown>>, given: Readonly<Record<string, unknown>>): Record<string, unknown> {
	const problems: string[] = [];
	const values: Record<string, unknown> = {};
	for (const parameter of runbook.parameters) {
		if (!parameter.secret) {
			if (Object.hasOwn(given, parameter.name)) {
				problems.push(`parameter ${parameter.name}: a resumed run keeps the value its run had (${JSON.stringify(recorded[parameter.name])}); start a new run to change it`);
			} else if (Object.hasOwn(recorded, parameter.name)) {
				values[parameter.name] = recorded[parameter.name];
			}

			continue;
		}

		if (!Object.hasOwn(given, parameter.name)) {
			problems.push(`parameter ${parameter.name} is secret, so it was not recorded: give it again with --param ${parameter.name}=VALUE`);
		} else if (Object.hasOwn(recorded, parameter.name) && secretHash(given[parameter.name]) !== recorded[parameter.name]) {
			problems.push(`parameter ${parameter.name}: the value given is not the one the run used (its hash differs)`);
		} else {
			values[parameter.name] = given[parameter.name];
		}
	}

	for (const name of Object.keys(given)) {
		if (!runbook.parameters.some(parameter => parameter.name === name)) {
			problems.push(`parameter ${name} is not declared by runbook ${runbook.name}`);
		}
	}

	if (problems.length > 0) {
		throw runbookInvalid(`Cannot resume with these parameters`, problems);
	}

	return values;
}
