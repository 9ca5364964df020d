/**
 * A run plan: everything a run will do, decided before anything is dialled — the exact hosts in
 * the order they start, the script and its arguments, the rollout, who asks — and nothing
 * decided later. Resolving a request gives a plan (core/run-plan.ts); executing a plan runs it
 * as it is (core/run-execute.ts), so a plan can be shown, approved or kept and then run without
 * being worked out again. Pure.
 *
 * The plan's hash is SHA-256 over the canonical JSON (RFC 8785) of what it would run: the script,
 * the arguments' hash (secret arguments are never in a plan's shown form), the hosts with their
 * addresses, in order, what each host's allowlist entry for the script said (its digest), the
 * rollout, the per-host timeout, dry run or not, the caller, the token's id, and for a runbook's
 * step the runbook file's SHA-256. Two plans with the same hash ask the same hosts the same thing
 * of the same entries; the request id, the notes, where the request came from and which runbook
 * run it is part of are not part of it. It is the hash a two-person approval is bound to
 * (approvals/), recorded as `planHash` in `run.request` and in every approval record.
 */
import {createHash} from 'node:crypto';
import {argsHash, canonical} from '../audit/record.js';
import type {TokenScope} from '../policy/tokens.js';
import type {AgentRunRequest} from './agent-request.js';
import type {Amount} from './rollout.js';

/** 2: the entries' digests and the runbook file joined the hash. */
export const planVersion = 2;

/** How the hosts are rolled out: --batch, --max-failures, --canary, --run-timeout, --idle-timeout, --shuffle. */
export type RolloutInput = {
	batch?: Amount;
	maxFailures?: Amount;
	ignoreUnreachable?: boolean;
	canary?: number;
	/**
	 * Applied when the plan is made: the plan's hosts are already in their shuffled order, drawn
	 * from the request id (core/run-plan.ts), so the same request resolved again has the same order.
	 */
	shuffle?: boolean;
	runTimeoutMs?: number;
	idleTimeoutMs?: number;
};

/** A host as the plan dials it: its address, and the relay when it is reached through one (agent-connection.ts). */
export type PlanTarget = {name: string; address: string; transport?: 'nats' | 'both'; relay?: string};

/** A registry record as a plan target; a direct-TLS host is only its name and address (so its plan hashes as before). */
export function planTarget(record: {name: string; address: string; transport?: 'tls' | 'nats' | 'both'; relay?: string}): PlanTarget {
	const {name, address, transport, relay} = record;
	return transport === 'nats' || transport === 'both' ? {name, address, transport, ...(relay === undefined ? {} : {relay})} : {name, address};
}

/** A runbook's file as its run read it: its path in the controller's home (`runbooks/NAME.yaml`) and the SHA-256 of its bytes. */
export type RunbookFile = {file: string; sha256: string};

export type RunPlan = {
	version: typeof planVersion;
	requestId: string;
	script: string;
	/** The arguments as they will be sent; the plan's shown form and the records use `shownArgs`. */
	args: readonly string[];
	/** The arguments with the ones a target's schema marks secret replaced by their hashes. */
	shownArgs: readonly string[];
	/** Whether any argument is secret (the history says so). */
	secretArgs: boolean;
	/** The selector as the caller gave it (empty for a rerun). */
	selector: readonly string[];
	/** The exact hosts, in the order they start. */
	targets: readonly PlanTarget[];
	parallel: number;
	timeoutSeconds: number;
	dryRun: boolean;
	rollout?: RolloutInput;
	/** Who asks: `user@host` for the CLI, `api:TOKEN-NAME` for the REST API, `mcp:TOKEN-NAME`. */
	caller: string;
	/** Where the request came from, when a face knows (the REST API: the client's IP address). */
	source?: string;
	/** The program the caller used, as it declared itself. */
	client?: string;
	/** The scoped token the caller presented, already checked against the hosts. */
	token?: TokenScope;
	/** A rerun: the request id of the earlier run. */
	rerunOf?: string;
	/** A runbook's step: the runbook run's id and the step's name. */
	parent?: {runbook: string; step: string};
	/** A runbook's step: the runbook file its run read. */
	runbookFile?: RunbookFile;
	/**
	 * What each host's allowlist entry for the script said when the plan was made, by host name:
	 * entryDigest (run/entry-digest.ts), null for a host that did not answer or has no such entry.
	 */
	entries?: Readonly<Record<string, string | null>>;
	/**
	 * The hosts whose entries came from the controller's cache of their descriptions, not from asking
	 * them (core/cached-plan.ts): each is sent its digest and refuses the run when its entry is another
	 * now (core/plan-refresh.ts then describes it and plans it again, once). `confirmed`: the run was
	 * confirmed when it was planned (--yes, or typed), which a `confirm` entry found then also needs.
	 * Not in the hash: the entries are.
	 */
	cached?: {hosts: readonly string[]; confirmed: boolean};
	/** What the operator should hear about the selection: names not registered, exclusions that removed nothing. */
	notes: readonly string[];
	hash: string;
};

export type PlanContent = Omit<RunPlan, 'hash' | 'version'>;

/** The fields the hash covers, in the canonical document it is computed over. */
export function planDocument(plan: PlanContent): Record<string, unknown> {
	return {
		version: planVersion,
		script: plan.script,
		argsHash: argsHash(plan.args),
		targets: plan.targets.map(target => planTarget(target)),
		parallel: plan.parallel,
		timeoutSeconds: plan.timeoutSeconds,
		dryRun: plan.dryRun,
		rollout: {...plan.rollout},
		caller: plan.caller,
		token: plan.token?.id ?? null,
		entries: plan.entries ?? null,
		runbookFile: plan.runbookFile ?? null,
	};
}

export function planHash(plan: PlanContent): string {
	return createHash('sha256').update(canonical(planDocument(plan))).digest('hex');
}

export function makePlan(content: PlanContent): RunPlan {
	return {version: planVersion, ...content, hash: planHash(content)};
}

/** What every host of the plan is asked (the controller's signed audit head is added when it is sent). */
export function agentRequest(plan: RunPlan): AgentRunRequest {
	return {
		requestId: plan.requestId,
		script: plan.script,
		args: plan.args,
		caller: plan.caller,
		timeoutMs: plan.timeoutSeconds * 1000,
		dryRun: plan.dryRun,
		...(plan.token ? {token: plan.token} : {}),
		...(plan.source ? {callerSource: plan.source} : {}),
		...(plan.client ? {client: plan.client} : {}),
		...(plan.cached ? {plannedEntries: plannedEntries(plan.cached.hosts, plan.entries ?? {})} : {}),
	};
}

/** The digests sent as `entryDigest`: those of the hosts planned from the cache, none for a host described live. */
function plannedEntries(hosts: readonly string[], entries: Readonly<Record<string, string | null>>): Record<string, string | null> {
	return Object.fromEntries(hosts.map(name => [name, Object.hasOwn(entries, name) ? entries[name]! : null]));
}

/** The positions of the plan's arguments that are secret: those its shown form replaced by their hashes. */
export function secretPositions(plan: Pick<RunPlan, 'args' | 'shownArgs'>): number[] {
	return plan.args.flatMap((value, index) => (plan.shownArgs[index] === value ? [] : [index]));
}

/** A plan as a face shows it (secret arguments as hashes): the hosts, and what each will be asked. */
export function planView(plan: RunPlan) {
	const asked = {...agentRequest(plan), args: [...plan.shownArgs]};
	return {
		requestId: plan.requestId,
		hash: plan.hash,
		script: plan.script,
		args: [...plan.shownArgs],
		selector: [...plan.selector],
		targets: plan.targets.map(target => target.name),
		parallel: plan.parallel,
		timeoutSeconds: plan.timeoutSeconds,
		dryRun: plan.dryRun,
		rollout: {...plan.rollout},
		caller: plan.caller,
		...(plan.token ? {token: {id: plan.token.id, name: plan.token.name}} : {}),
		asks: plan.targets.map(target => ({agent: target.name, address: target.address, ...(target.transport ? {via: target.transport === 'nats' ? `relay ${target.relay ?? ''}` : `direct, else relay ${target.relay ?? ''}`} : {}), request: asked})),
	};
}
