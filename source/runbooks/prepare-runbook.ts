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
import {discoverAgents, type Discovered} from '../dispatch/discover.js';
import type {RunPorts} from '../core/run-execute.js';
import {XiError} from '../errors.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, scopeOf, type TokenScope} from '../policy/tokens.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import type {ExecuteResult, PendingStep} from './execute.js';
import type {Runbook} from './model.js';
import {resolveParameters} from './parameters.js';
import {planRunbook, reachableAgents, type RunbookPlan} from './plan-runbook.js';
import {carryOver, checkResumedFile, nothingCarried, openResumed, resumedParameters, type ResumeRequest} from './resume-run.js';
import {loadRunbook, runbookInvalid} from './runbook-files.js';
import {startRunbookRun, type CheckedRunbookRun, type RunbookStartOptions} from './start-runbook.js';
import type {StepOutcome} from './step-outcome.js';

export type {RunbookStartOptions} from './start-runbook.js';

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
	resume?: ResumeRequest;
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

export async function prepareRunbookRun(ports: RunbookPorts, input: RunbookRunInput): Promise<PreparedRunbookRun> {
	const now = ports.now ?? (() => new Date());
	const id = randomUUID();
	const resumed = input.resume ? openResumed(ports.paths, input.resume) : undefined;
	const name = resumed ? resumed.record.header.runbook : input.name;
	if (name === undefined) {
		throw new XiError('USAGE', 'Name the runbook to run: xi-exec runbook run NAME, or --resume ID.');
	}

	if (resumed) {
		checkResumedFile(ports.paths, name, resumed.record.header, input.resume!.changedFile);
	}

	const {runbook, file, sha256} = loadRunbook(ports.paths, name);
	const params = resumed ? resumedParameters(runbook, resumed.record.header.parameters, input.params) : input.params;
	const audit = ports.audit();
	const refuse = async (error: XiError): Promise<never> => {
		// A refusal is recorded; if even that cannot be written, the refusal still stands.
		await audit.append({event: 'runbook.refused', runbookRun: id, runbook: name, fileSha256: sha256, caller: input.caller, source: input.source, code: error.code, reason: error.message}).catch(() => undefined);
		throw error;
	};

	const {scope, values, plan} = await checkAgainstFleet(ports, {name, runbook, params, token: input.token, at: now()}, refuse);
	const carry = resumed ? carryOver(runbook, resumed, input.resume!.from, sha256, plan) : nothingCarried();
	if ('reason' in carry) {
		return refuse(new XiError('USAGE', `Cannot resume run ${resumed!.record.header.id}: ${carry.reason}.`));
	}

	const run: CheckedRunbookRun = {ports, input, id, name, runbook, file, sha256, values, scope, plan, resumed: resumed?.record.header, audit, now, ...carry};
	return {
		id,
		runbook,
		plan,
		file,
		sha256,
		...(resumed ? {resumeOf: resumed.record.header.id, from: carry.from!.step} : {}),
		carried: carry.carried,
		pending: carry.pending,
		start: async options => startRunbookRun(run, options),
	};
}

/**
 * The whole runbook checked against the fleet before anything runs: the token's scope, the
 * parameters, and each step's plan over the agents it can reach (asked what they run); each
 * refusal recorded through `refuse`.
 */
async function checkAgainstFleet(ports: RunbookPorts, request: {name: string; runbook: Runbook; params: Readonly<Record<string, unknown>>; token: string | undefined; at: Date}, refuse: (error: XiError) => Promise<never>) {
	const {name, runbook, params} = request;
	const scope = request.token === undefined ? undefined : await tokenScope(ports, request.token, request.at).catch(async (error: unknown) => refuse(error as XiError));
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

	return {scope, values: values.values, plan: planned.plan};
}

async function tokenScope(ports: RunbookPorts, presented: string, now: Date): Promise<TokenScope> {
	const {tokens} = await openTokenStore(ports.paths.home).read();
	const check = authenticateToken(tokens, presented.trim(), now);
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	return scopeOf(check.token);
}
