/**
 * One run request, the same for every face (CLI, console API, REST API): check the script name
 * and arguments, resolve the selector against the registry, check the caller's token against the
 * targets before anything is dialled (a refusal is audited), audit the request (fail closed: no
 * record, no request), then dispatch, audit each host's outcome, keep the run in the history
 * (header, one line per event, an end line) and mark who answered.
 *
 * Two steps, so a face can answer "refused" or "accepted" before the run goes on:
 * `prepareRun` does everything up to the request's audit record; the prepared run's `start`
 * dials. Ports (the audit log, the TLS context, the stores) come in from the face.
 */
import {createHash, randomInt, randomUUID, X509Certificate} from 'node:crypto';
import type {SecureContext} from 'node:tls';
import {maintainAfterContact} from '../certificates/after-contact.js';
import {XiError} from '../errors.js';
import {argsHash, type AuditFields} from '../audit/record.js';
import type {AuditLog} from '../audit/file-log.js';
import {resolveTargetsWithNotes} from '../registry/resolve-targets.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {historyLine} from '../history/run-record.js';
import {readControllerSettings} from '../audit/controller-log.js';
import {pruneHistory} from '../history/prune.js';
import {historyDirectory, startRunFile, type RunWriter} from '../history/run-store.js';
import {openTokenStore} from '../policy/token-store.js';
import {authenticateToken, checkScope, scopeOf, type TokenScope} from '../policy/tokens.js';
import {checkArgs} from '../protocol/args.js';
import {hasControl, isScriptName} from '../protocol/text-checks.js';
import {markSeen, revokedSerials, type AgentRecord} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import {checkBlastRadius, declaredLimits, type DeclaredLimit} from '../run/blast-radius.js';
import {createClientContext} from '../dispatch/agent-connection.js';
import {hasSecrets, redactArgs} from '../protocol/secret-args.js';
import {dispatch} from '../dispatch/dispatcher.js';
import {describeOnce, describeTargets, secretArgsForRun, type DescribeTargets} from '../dispatch/secret-targets.js';
import type {Amount} from '../run/rollout.js';
import type {AgentResult, RunEvent} from '../run/events.js';

export type RunRequestInput = {
	/** The request id, when the face must show it before the run is prepared (the console); new otherwise. */
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
	 * person confirms (until two-person approval exists).
	 */
	aiCaller?: boolean;
	/** Rollout: --batch, --max-failures, --canary, --run-timeout, --idle-timeout, --shuffle. */
	rollout?: RolloutInput;
	/** A rerun: these hosts of an earlier run, as they were resolved then (instead of `on`). */
	rerun?: {of: string; agents: readonly string[]};
	/** A `confirm` script goes ahead without asking (--yes). */
	yes?: boolean;
	/** Asks the operator, on a terminal, to type `answer`; absent without one (then a `confirm` script needs `yes`). */
	confirm?: (question: string, answer: string) => Promise<boolean>;
};

export type RolloutInput = {
	batch?: Amount;
	maxFailures?: Amount;
	ignoreUnreachable?: boolean;
	canary?: number;
	shuffle?: boolean;
	runTimeoutMs?: number;
	idleTimeoutMs?: number;
};

export type RunPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	/** Opened on first use: the CLI opens its log per run, the API server holds one for its life. */
	audit: () => AuditLog;
	context: SecureContext;
	/** The serial of the controller certificate the agents will see, recorded with the request. */
	controllerSerial: string;
	now?: () => Date;
	/** What the targets' allowlist entries declare for the script; live discovery unless given. */
	declaredLimits?: (targets: readonly AgentRecord[], script: string) => Promise<DeclaredLimit[]>;
	/** Asks the targets what they run, to learn which arguments are secret (default: a describe exchange with each). */
	describe?: DescribeTargets;
};

export type RunStartOptions = {
	emit?: (event: RunEvent) => void;
	cancel?: AbortSignal;
	/** Recorded in the history's end line when `cancel` fired. */
	cancelledBy?: string;
	/** Where the cancel came from, when a face knows (the REST API: the client's address); read when it comes. */
	cancelledFrom?: string;
	/** Asked once the canary hosts are all ok; without it a canary run stops after them. */
	approveCanary?: (canary: AgentResult[]) => Promise<boolean>;
};

export type RunOutcome = {
	results: AgentResult[];
	cancelled: boolean;
	/** Set when the history could not be written; the run itself went ahead. */
	historyProblem?: string;
	/** What keeping the answering agents' certificates current did after the run (renewals, a rotation's handover), in words. */
	certificates?: string;
};

export type PreparedRun = {
	requestId: string;
	script: string;
	args: readonly string[];
	targets: AgentRecord[];
	/** What the operator should hear about the selection: names not registered, exclusions that removed nothing. */
	notes: string[];
	scope?: TokenScope;
	start: (options?: RunStartOptions) => Promise<RunOutcome>;
};

/** New credentials when the controller certificate on disk is no longer the one this run started with. */
function freshControllerContext(ports: RunPorts): () => SecureContext | undefined {
	let fresh: SecureContext | undefined;
	return () => {
		if (!fresh) {
			const credentials = loadControllerCredentials(ports.paths);
			if (normaliseSerial(new X509Certificate(credentials.cert).serialNumber) !== ports.controllerSerial) {
				fresh = createClientContext(credentials);
			}
		}

		return fresh;
	};
}

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

export async function prepareRun(ports: RunPorts, input: RunRequestInput): Promise<PreparedRun> {
	const {script} = input;
	checkRunInput(script, input.args);
	const now = ports.now ?? (() => new Date());
	const registry = await ports.registry.read();
	const {targets: resolved, notes} = input.rerun ? {targets: rerunTargets(registry.agents, input.rerun), notes: []} : resolveTargetsWithNotes(registry, input.on);
	// A stable order (by name), unless --shuffle.
	const targets = input.rollout?.shuffle ? shuffled(resolved) : [...resolved].sort((a, b) => a.name.localeCompare(b.name));
	const requestId = input.requestId ?? randomUUID();
	const args = Object.freeze([...input.args]);
	const selector = [...input.on];
	const audit = ports.audit();
	// One discovery of the targets serves both the declared limits and the secret arguments.
	const describe = describeOnce(ports.describe ?? describeTargets(ports.context, 64, 5000, revokedSerials(registry)));
	let scope: TokenScope | undefined;
	try {
		scope = input.token === undefined ? undefined : await checkToken(ports.paths, input.token, script, targets, now());
		await checkLimits(ports, input, script, targets, describe);
	} catch (error) {
		// A refusal is an event too; if even it cannot be recorded, the refusal still stands.
		await audit.append({event: 'run.refused', requestId, script, argsHash: argsHash(args), caller: input.caller, source: input.source, client: input.client, selector, code: error instanceof XiError ? error.code : 'INTERNAL', reason: (error as Error).message}).catch(() => undefined);
		throw error;
	}

	// Arguments a target's schema marks secret are kept and shown only as hashes from here on.
	const secret = await secretArgsForRun(script, args, targets, describe);
	const shownArgs = redactArgs(args, secret);
	// Fail closed: no record of the request, no request.
	await audit.append({
		event: input.dryRun ? 'run.dry-run' : 'run.request',
		requestId,
		script,
		args: shownArgs,
		argsHash: argsHash(args),
		caller: input.caller,
		source: input.source,
		client: input.client,
		token: scope ? {id: scope.id, name: scope.name} : undefined,
		selector,
		targets: targets.map(target => target.name),
		controllerSerial: ports.controllerSerial,
		rerunOf: input.rerun?.of,
		rollout: input.rollout ? {...input.rollout} : undefined,
	});
	if (!input.dryRun) {
		// Seal the request at once: the signed head goes to every agent, which records it as its
		// witness of this log (a request later cut from this log then shows in `audit verify --cross`).
		await audit.checkpoint();
	}

	const start = async (options: RunStartOptions = {}): Promise<RunOutcome> => {
		const cancel = options.cancel ?? new AbortController().signal;
		if (!input.dryRun) {
			await pruneHistory(historyDirectory(ports.paths), readControllerSettings(ports.paths), audit, input.caller, now());
		}

		const history = openHistory(ports.paths, input.dryRun, {
			type: 'run',
			requestId,
			script,
			args: shownArgs,
			...(hasSecrets(secret, args.length) ? {secretArgs: true} : {}),
			selector,
			caller: input.caller,
			...(scope ? {token: {id: scope.id, name: scope.name}} : {}),
			startedAt: now().toISOString(),
			targets: targets.map(target => target.name),
			...(input.rerun ? {rerunOf: input.rerun.of} : {}),
		});
		const outcomes: Array<Promise<unknown>> = [];
		// Who cancelled and which hosts were still running, recorded when the cancel comes.
		const inFlight = new Set<string>();
		const onCancel = () => {
			outcomes.push(audit.append({event: 'run.cancel', requestId, caller: options.cancelledBy ?? input.caller, source: options.cancelledFrom, stillRunning: [...inFlight]}));
		};

		if (cancel.aborted) {
			onCancel();
		} else {
			cancel.addEventListener('abort', onCancel, {once: true});
		}

		const controllerHead = audit.signedHead();
		const results = await dispatch(targets, {
			requestId,
			script,
			args,
			caller: input.caller,
			timeoutMs: input.timeoutSeconds * 1000,
			dryRun: input.dryRun,
			...(scope ? {token: scope} : {}),
			...(controllerHead ? {controllerHead} : {}),
			...(input.source ? {callerSource: input.source} : {}),
			...(input.client ? {client: input.client} : {}),
		}, {
			context: ports.context,
			revoked: revokedSerials(registry),
			freshContext: freshControllerContext(ports),
			parallel: input.parallel,
			cancel,
			...input.rollout,
			...(options.approveCanary ? {approveCanary: options.approveCanary} : {}),
			emit(sent: RunEvent) {
				const event: RunEvent = sent.type === 'run-started' ? {...sent, args: shownArgs} : sent;
				if (event.type === 'agent-connecting') {
					inFlight.add(event.agent);
				}

				if (event.type === 'agent-finished') {
					inFlight.delete(event.result.agent);
					outcomes.push(audit.append(outcomeRecord(requestId, event.result)));
				}

				history.write(event);
				options.emit?.(event);
			},
		});
		cancel.removeEventListener('abort', onCancel);
		history.end(now().toISOString(), cancel.aborted ? options.cancelledBy : undefined);
		const recorded = await Promise.allSettled(outcomes);
		const unrecorded = recorded.find(result => result.status === 'rejected');
		if (unrecorded) {
			throw unrecorded.reason;
		}

		const answered = results.filter(result => result.status !== 'unreachable' && result.status !== 'skipped').map(result => result.agent);
		await ports.registry.update(registry => markSeen(registry, answered, now().toISOString())).catch(() => undefined);
		const certificates = input.dryRun ? undefined : await maintainAfterContact({paths: ports.paths, context: ports.context, caller: input.caller, now, audit: ports.audit}, targets.filter(target => answered.includes(target.name)));
		return {results, cancelled: cancel.aborted, ...(history.problem() ? {historyProblem: history.problem()} : {}), ...(certificates ? {certificates} : {})};
	};

	return {requestId, script, args, targets, notes, ...(scope ? {scope} : {}), start};
}

/**
 * The run's history file. A dry run runs nothing and is not kept. A history that cannot be
 * written (a full disk) stops being written; the run goes on and the outcome says why.
 */
function openHistory(paths: ControllerPaths, dryRun: boolean, header: Parameters<typeof startRunFile>[1]) {
	let writer: RunWriter | undefined;
	let problem: string | undefined;
	const guard = (write: () => void) => {
		if (problem !== undefined) {
			return;
		}

		try {
			write();
		} catch (error) {
			writer = undefined;
			problem = `the run history could not be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
		}
	};

	if (!dryRun) {
		guard(() => {
			writer = startRunFile(historyDirectory(paths), header);
		});
	}

	return {
		write(event: RunEvent) {
			const line = historyLine(event);
			if (writer && line) {
				guard(() => writer!.write(line));
			}
		},
		end(endedAt: string, cancelledBy: string | undefined) {
			if (writer) {
				guard(() => writer!.write({type: 'end', endedAt, ...(cancelledBy === undefined ? {} : {cancelledBy})}));
			}
		},
		problem: () => problem,
	};
}

/** What the controller records of one host's outcome: sizes and hashes of the output, not the output. */
export function outcomeRecord(requestId: string, result: AgentResult): AuditFields {
	return {
		event: 'run.outcome',
		requestId,
		agent: result.agent,
		status: result.status,
		exitCode: result.exitCode,
		signal: result.signal,
		durationMs: result.durationMs,
		truncated: result.truncated,
		reason: result.reason,
		agentHead: result.agentHead,
		output: {stdoutBytes: Buffer.byteLength(result.stdout), stderrBytes: Buffer.byteLength(result.stderr), stdoutSha256: sha256(result.stdout), stderrSha256: sha256(result.stderr)},
	};
}

function sha256(text: string): string {
	return createHash('sha256').update(text).digest('hex');
}

/**
 * Refuses, before the run dials anything, a run beyond a script's `maxTargets` or a `confirm`
 * script neither confirmed (--yes) nor confirmed on the terminal. The limits come from the
 * targets' own allowlist entries, asked for with a `describe`; a target that does not answer it
 * declares nothing (it will most likely be unreachable for the run too).
 */
async function checkLimits(ports: RunPorts, input: RunRequestInput, script: string, targets: readonly AgentRecord[], describe: DescribeTargets): Promise<void> {
	const learn = ports.declaredLimits ?? (async (agents: readonly AgentRecord[], name: string) => declaredLimits(await describe(agents), name));
	const limits = await learn(targets, script);
	const decision = checkBlastRadius({
		script,
		targets: targets.length,
		limits,
		...(input.rollout?.batch ? {batch: input.rollout.batch} : {}),
		parallel: input.parallel,
		yes: input.yes ?? false,
		interactive: input.confirm !== undefined,
		aiCaller: input.aiCaller ?? false,
		dryRun: input.dryRun,
	});
	if (decision.type === 'refuse') {
		throw new XiError('TOO_MANY_TARGETS', `Refused before running anything: ${decision.reason}.`);
	}

	if (decision.type === 'ask' && !(await input.confirm!(decision.question, decision.answer))) {
		throw new XiError('TOO_MANY_TARGETS', `Refused before running anything: ${script} was not confirmed (type ${decision.answer}, the number of targets, or pass --yes).`);
	}
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

function shuffled<T>(items: readonly T[]): T[] {
	const copy = [...items];
	for (let index = copy.length - 1; index > 0; index--) {
		const other = randomInt(index + 1);
		[copy[index], copy[other]] = [copy[other]!, copy[index]!];
	}

	return copy;
}
