/**
 * Resolving a run request into a plan (run/plan.ts), the same for every face (CLI, console,
 * REST API, MCP): check the script name and arguments, resolve the selector against the registry
 * (or take a rerun's hosts), check the caller's token against the hosts, check the script's
 * declared limits (maxTargets, confirm), learn which arguments are secret. Every refusal is
 * audited (`run.refused`: its code, reason and selector; a bad script name, bad arguments, a
 * selector that does not parse or matches nothing included) and thrown; nothing is dialled to run
 * anything. Executing the plan is core/run-execute.ts.
 */
import {createHash, randomUUID} from 'node:crypto';
import {argsHash, type AuditFields} from '../audit/record.js';
import type {AuditLog} from '../audit/file-log.js';
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {RunConnections} from '../dispatch/held-connections.js';
import {describeOnce, describeTargets, secretArgsForRun, type DescribeTargets} from '../dispatch/secret-targets.js';
import type {DescriptionFile} from './description-file.js';
import {cachedEntries, remembered, withCached} from './cached-plan.js';
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, checkScope, scopeOf, type TokenScope} from '../policy/tokens.js';
import {checkArgs} from '../protocol/args.js';
import {hasSecrets, redactArgs} from '../protocol/secret-args.js';
import {hasControl, isScriptName, withLoneSurrogatesReplaced} from '../protocol/text-checks.js';
import type {ScriptDescription} from '../protocol/frames.js';
import {revokedSerials, type AgentRecord} from '../registry/model.js';
import {resolveTargetsWithNotes} from '../registry/resolve-targets.js';
import type {RegistryStore} from '../registry/store.js';
import {checkBlastRadius, declaredLimits, type DeclaredLimit} from '../run/blast-radius.js';
import {entryDigests} from '../run/entry-digest.js';
import {makePlan, planTarget, type RolloutInput, type RunbookFile, type RunPlan} from '../run/plan.js';
import {planRollout} from '../run/rollout.js';
import {openDescribeThreads} from './run-threads.js';

export type {RolloutInput} from '../run/plan.js';

export type RunRequest = {
	/** The request id, when the face must show it before the plan is made (the console); new otherwise. */
	requestId?: string;
	script: string | undefined;
	args: readonly string[];
	on: readonly string[];
	parallel: number;
	timeoutSeconds: number;
	dryRun: boolean;
	/** Who asks: `user@host` for the CLI, `api:TOKEN-NAME` for the REST API. */
	caller: string;
	/** Where the request came from, when a face knows (the REST API: the client's IP address). */
	source?: string;
	/** A scoped token, when the caller presents one (XI_EXEC_TOKEN, --token-file, a bearer token). */
	token?: string;
	/** The program the caller used, as it declared itself (an MCP client: `name version over stdio`); recorded on both sides. */
	client?: string;
	/**
	 * An AI agent calls (the MCP face): a `confirm` script is refused whatever it asks, since no
	 * person confirms (approvals/gated-run.ts asks an operator instead when a rule says so).
	 */
	aiCaller?: boolean;
	rollout?: RolloutInput;
	/** A rerun: these hosts of an earlier run, as they were resolved then (instead of `on`). */
	rerun?: {of: string; agents: readonly string[]};
	/**
	 * Hosts decided before this request (a runbook's step: when the runbook was checked), by name:
	 * the run asks exactly these, with `on` kept as the selector it records; a host no longer
	 * registered refuses the run (AGENT_UNKNOWN), naming it, when it was chosen and what to do.
	 */
	pinned?: {agents: readonly string[]; since: string; remedy: string};
	/** A runbook's step: the runbook run's id and the step's name, kept in the history and the request's record. */
	parent?: {runbook: string; step: string};
	/** A runbook's step: the runbook file its run read, in the plan's hash (an approval is bound to it). */
	runbookFile?: RunbookFile;
	/** A `confirm` script goes ahead without asking (--yes). */
	yes?: boolean;
	/** Asks the operator, on a terminal, to type `answer`; absent without one (then a `confirm` script needs `yes`). */
	confirm?: (question: string, answer: string) => Promise<boolean>;
};

export type PlanPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	/** Opened on first use: the CLI opens its log per run, the API server holds one for its life. */
	audit: () => AuditLog;
	/** The controller's TLS client identity, for asking the hosts what they run. */
	context: ClientContext;
	now?: () => Date;
	/** What the targets' allowlist entries declare for the script; live discovery unless given. */
	declaredLimits?: (targets: readonly AgentRecord[], script: string) => Promise<DeclaredLimit[]>;
	/** Asks the targets what they run, to learn which arguments are secret (default: a describe exchange with each). */
	describe?: DescribeTargets;
	/**
	 * Where the describe's connections are kept for the run (one TLS handshake per host for both):
	 * the same object goes to executePlan. Closed here when the request is refused.
	 */
	connections?: RunConnections;
	/**
	 * The agents' descriptions as last cached (run/description-cache.ts), without `describe`: a run
	 * without arguments is planned from the cached entries of the targets that have one, and only the
	 * others are asked (cached-plan.ts); their agents check the entry's digest, and a host whose entry
	 * changed is planned again during the run (plan-refresh.ts). What is asked live is remembered.
	 */
	descriptions?: DescriptionFile;
};

/** The checks that need nothing but the request: the script's name and the arguments' limits. */
export function checkRunInput(script: string | undefined, args: readonly string[]): asserts script is string {
	if (!script || !isScriptName(script) || hasControl(script)) {
		throw new XiError('NAME_INVALID', `script name ${JSON.stringify(script ?? '')} must match [a-z0-9][a-z0-9._-]*; usage: xi-exec run SCRIPT --on SELECTOR [-- ARGS...].`);
	}

	const argsProblem = checkArgs(args);
	if (argsProblem) {
		throw new XiError('ARGS_INVALID', `Arguments refused: ${argsProblem}.`);
	}
}

/** `live`: every target is described live, none planned from the cache (a limit read from it stopped the run). */
export async function resolvePlan(ports: PlanPorts, request: RunRequest, live = false): Promise<RunPlan> {
	const {script} = request;
	const requestId = request.requestId ?? randomUUID();
	const now = ports.now ?? (() => new Date());
	const registry = await ports.registry.read();
	// A refusal is an event too; if even it cannot be recorded, the refusal still stands.
	const refused = async (error: unknown): Promise<never> => {
		await ports.audit().append(refusalRecord(request, requestId, error)).catch(() => undefined);
		throw error;
	};

	let resolved: AgentRecord[];
	let notes: string[];
	try {
		checkRunInput(script, request.args);
		({targets: resolved, notes} = request.rerun
			? {targets: rerunTargets(registry.agents, request.rerun), notes: []}
			: (request.pinned ? {targets: pinnedTargets(registry.agents, request.pinned.agents), notes: []} : resolveTargetsWithNotes(registry, request.on)));
	} catch (error) {
		return refused(error);
	}

	// A stable order (by name), unless --shuffle.
	const targets = request.rollout?.shuffle ? shuffled(resolved, requestId) : [...resolved].sort((a, b) => a.name.localeCompare(b.name));
	const args = Object.freeze([...request.args]);
	// One discovery of the targets serves both the declared limits and the secret arguments; with
	// `connections`, the run's first wave keeps its describe's connection for the run. A run without
	// arguments is planned from the cached descriptions of the targets that have one (cached-plan.ts).
	const revoked = revokedSerials(registry);
	const cached = ports.describe || live ? new Map<string, ScriptDescription>() : cachedEntries(ports.descriptions, script, request.args, targets, revoked);
	const uncached = cached.size === 0 ? targets : targets.filter(target => !cached.has(target.name));
	const wave = firstWave(request, targets.length);
	const hold = ports.describe || uncached.length === 0 ? undefined : ports.connections?.open(wave);
	// With dispatch threads, the describe's handshakes go on them, and so do the connections it keeps.
	const threads = hold && ports.connections ? await openDescribeThreads(ports.paths, ports.connections, uncached.length).catch(async (error: unknown) => {
		hold.close();
		return refused(error);
	}) : undefined;
	const asked = ports.describe ?? remembered(describeTargets(ports.context, 64, 5000, revoked, hold, threads ? {pool: threads, holdUpTo: wave} : undefined), ports.descriptions, request.args, now);
	const describe = describeOnce(cached.size === 0 ? asked : withCached(cached, asked));
	let scope: TokenScope | undefined;
	let confirmed: boolean;
	try {
		if (request.pinned) {
			checkPinned(targets, request.pinned);
		}

		scope = request.token === undefined ? undefined : await checkToken(ports.paths, request.token, script, targets, now());
		confirmed = await checkLimits(ports, request, script, targets, describe, cached.size > 0);
	} catch (error) {
		hold?.close();
		void threads?.close();
		if (error === staleLimits) {
			// A limit (maxTargets, confirm) read from a cached entry: decided on what the hosts say now.
			return resolvePlan(ports, {...request, requestId}, true);
		}

		return refused(error);
	}

	try {
		// Arguments a target's schema marks secret are kept and shown only as hashes from here on.
		const secret = await secretArgsForRun(script, args, targets, describe);
		// What each host's entry said, in the plan's hash: an entry changed since is another plan.
		const entries = targets.length === 0 ? {} : entryDigests(script, targets, await describe(targets));
		return makePlan({
			requestId,
			script,
			args,
			shownArgs: redactArgs(args, secret),
			secretArgs: hasSecrets(secret, args.length),
			selector: [...request.on],
			targets: targets.map(target => planTarget(target)),
			parallel: request.parallel,
			timeoutSeconds: request.timeoutSeconds,
			dryRun: request.dryRun,
			...(request.rollout ? {rollout: {...request.rollout}} : {}),
			caller: request.caller,
			...(request.source === undefined ? {} : {source: request.source}),
			...(request.client === undefined ? {} : {client: request.client}),
			...(scope ? {token: scope} : {}),
			...(request.rerun ? {rerunOf: request.rerun.of} : {}),
			...(request.parent ? {parent: {...request.parent}} : {}),
			...(request.runbookFile ? {runbookFile: {...request.runbookFile}} : {}),
			entries,
			...(cached.size > 0 ? {cached: {hosts: targets.flatMap(target => (cached.has(target.name) ? [target.name] : [])), confirmed}} : {}),
			notes,
		});
	} catch (error) {
		hold?.close();
		void threads?.close();
		throw error;
	}
}

/**
 * The `run.refused` record of a request refused before anything ran: its code and reason, the
 * arguments as a hash, the selector asked. A script name that is not one (the NAME_INVALID
 * refusal) is kept to its first 128 characters: the record names what was asked, not all of it.
 */
function refusalRecord(request: RunRequest, requestId: string, error: unknown): AuditFields {
	return {
		event: 'run.refused',
		requestId,
		script: request.script === undefined || isScriptName(request.script) ? request.script : recordable(request.script.slice(0, 128)),
		argsHash: argsHash(request.args.map(recordable)),
		caller: request.caller,
		source: request.source,
		client: request.client,
		selector: request.on.map(recordable),
		...(request.rerun ? {rerunOf: request.rerun.of} : {}),
		...(request.parent ? {parent: {...request.parent}} : {}),
		code: error instanceof XiError ? error.code : 'INTERNAL',
		reason: recordable((error as Error).message),
	};
}

/**
 * Text of a refused request as the audit can hold it: a lone UTF-16 surrogate (which JSON can
 * carry, and which is refused for it: checkArgs, the selector's parser) has no canonical form, so
 * the record's hash could not be made and the refusal went unrecorded (a REST caller got a 500);
 * it is recorded as U+FFFD, as UTF-8 would write it.
 */
function recordable(text: string): string {
	return withLoneSurrogatesReplaced(text);
}

/** How many hosts the run starts at once at first (a canary's hosts first): the connections worth keeping. */
function firstWave(request: RunRequest, targets: number): number {
	const rollout = planRollout({...request.rollout, parallel: request.parallel}, targets);
	return rollout.canary > 0 ? Math.min(rollout.window, rollout.canary) : rollout.window;
}

/** Thrown by checkLimits when a limit it would refuse or ask on was read from a cached entry. */
const staleLimits = new Error('a limit read from a cached description');

/**
 * Refuses, before the run dials anything, a run beyond a script's `maxTargets` or a `confirm`
 * script neither confirmed (--yes) nor confirmed on the terminal. The limits come from the
 * targets' own allowlist entries, asked for with a `describe`; a target that does not answer it
 * declares nothing (it will most likely be unreachable for the run too). `fromCache`: some entries
 * are cached ones, and a decision other than go is made again on what the hosts say now
 * (staleLimits), so a cache never refuses or asks what a live plan would not. Whether the run is
 * confirmed (--yes, or typed).
 */
async function checkLimits(ports: PlanPorts, request: RunRequest, script: string, targets: readonly AgentRecord[], describe: DescribeTargets, fromCache: boolean): Promise<boolean> {
	const learn = ports.declaredLimits ?? (async (agents: readonly AgentRecord[], name: string) => declaredLimits(await describe(agents), name));
	const limits = await learn(targets, script);
	const decision = checkBlastRadius({
		script,
		targets: targets.length,
		limits,
		...(request.rollout?.batch ? {batch: request.rollout.batch} : {}),
		parallel: request.parallel,
		yes: request.yes ?? false,
		interactive: request.confirm !== undefined,
		aiCaller: request.aiCaller ?? false,
		dryRun: request.dryRun,
	});
	if (decision.type !== 'go' && fromCache) {
		throw staleLimits;
	}

	if (decision.type === 'refuse') {
		throw new XiError('TOO_MANY_TARGETS', `Refused before running anything: ${decision.reason}.`);
	}

	if (decision.type === 'ask' && !(await request.confirm!(decision.question, decision.answer))) {
		throw new XiError('TOO_MANY_TARGETS', `Refused before running anything: ${script} was not confirmed (type ${decision.answer}, the number of targets, or pass --yes).`);
	}

	return decision.type === 'ask' || (request.yes ?? false);
}

/** Authenticates a presented token and refuses, before anything is dialled, a request outside its scope. */
export async function checkToken(paths: ControllerPaths, presented: string, script: string, targets: ReadonlyArray<{name: string; tags: Record<string, string>}>, now = new Date()): Promise<TokenScope> {
	const {tokens} = await openTokenStore(paths.home).read();
	const check = authenticateToken(tokens, presented.trim(), now);
	if (!check.ok) {
		throw new XiError('TOKEN_INVALID', `Token refused: ${check.reason}.`);
	}

	const scope = scopeOf(check.token);
	const problem = checkScope(scope, script, targets);
	if (problem) {
		throw new XiError('OUT_OF_SCOPE', `Refused before running anything: ${problem}.`);
	}

	return scope;
}

/** The hosts of an earlier run, as they were resolved then; hosts since unpaired are refused by name. */
function rerunTargets(agents: readonly AgentRecord[], rerun: {of: string; agents: readonly string[]}): AgentRecord[] {
	const byName = new Map(agents.map(agent => [agent.name, agent]));
	const gone = rerun.agents.filter(name => !byName.has(name));
	if (gone.length > 0) {
		throw new XiError('AGENT_UNKNOWN', `Run ${rerun.of} ran on ${gone.join(', ')}, no longer in the registry; rerun the others with --on.`);
	}

	if (rerun.agents.length === 0) {
		throw new XiError('NO_TARGETS', `Run ${rerun.of} has no host with the statuses asked for; \`xi-exec runs show ${rerun.of}\` shows them.`);
	}

	return rerun.agents.map(name => byName.get(name)!);
}

/** Hosts decided earlier, by name, as the registry has them now (checkPinned refuses those gone). */
function pinnedTargets(agents: readonly AgentRecord[], names: readonly string[]): AgentRecord[] {
	const byName = new Map(agents.map(agent => [agent.name, agent]));
	return names.flatMap(name => byName.get(name) ?? []);
}

/** Refuses, by name, hosts decided earlier and unpaired since. */
function checkPinned(targets: readonly AgentRecord[], pinned: {agents: readonly string[]; since: string; remedy: string}): void {
	const found = new Set(targets.map(agent => agent.name));
	const gone = pinned.agents.filter(name => !found.has(name));
	if (gone.length > 0) {
		throw new XiError('AGENT_UNKNOWN', `${gone.join(', ')} ${gone.length === 1 ? 'was' : 'were'} chosen ${pinned.since} and ${gone.length === 1 ? 'is' : 'are'} no longer in the registry (unpaired since), so nothing was run; ${pinned.remedy}.`);
	}

	if (pinned.agents.length === 0) {
		throw new XiError('NO_TARGETS', `No host was chosen ${pinned.since}; ${pinned.remedy}.`);
	}
}

/**
 * --shuffle: the hosts ordered by SHA-256 of the request id and each name. The request id is new
 * (random) for each request, so each run has its own order; the same request resolved again (an
 * approval checking that its plan still holds) has the same order, so the same plan hash.
 */
function shuffled<T extends {name: string}>(items: readonly T[], seed: string): T[] {
	const key = (item: T) => createHash('sha256').update(`${seed}\n${item.name}`).digest('hex');
	const keyed = items.map(item => ({item, key: key(item)}));
	return keyed.sort((a, b) => (a.key < b.key ? -1 : (a.key > b.key ? 1 : 0))).map(({item}) => item);
}
