/**
 * Executing a run plan (run/plan.ts), the same for every face: record the request (fail closed:
 * no record, no request; `planHash` names the plan), seal it with a checkpoint, then dispatch
 * exactly the plan's hosts with exactly its request, audit each host's outcome, keep the run in
 * the history (header, one line per event, an end line), mark who answered and keep their
 * certificates current. Nothing is resolved again: the registry is read only for the serials
 * refused since (an unpaired host is not dialled) and the answering hosts' certificates.
 *
 * Two steps, so a face can answer "accepted" (or "could not be recorded") before the run goes
 * on: `executePlan` resolves once the request is recorded; its `outcome` once the run ends.
 */
import {X509Certificate} from 'node:crypto';
import {basename} from 'node:path';
import {maintainAfterContact} from '../certificates/after-contact.js';
import {readControllerSettings} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {argsHash} from '../audit/record.js';
import {createClientContext, type AgentTarget, type ClientContext} from '../dispatch/agent-connection.js';
import {dispatch} from '../dispatch/dispatcher.js';
import type {RunConnections} from '../dispatch/held-connections.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import {historyLine, type HistoryLine, type RunHeader} from '../history/run-record.js';
import {pruneHistory} from '../history/prune.js';
import {historyDirectory, startRunFile, type RunWriter} from '../history/run-store.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {revokedSerials, seenViaOf, type AgentRecord, type Registry, type SeenVia} from '../registry/model.js';
import {recordRunOutcomes} from './run-audit.js';
import type {DescriptionFile} from './description-file.js';
import {refreshingStalePlans} from './plan-refresh.js';
import {runOnAgent} from '../dispatch/run-agent.js';
import {openRunThreads} from './run-threads.js';
import type {RunSummary} from '../run/run-summary.js';
import type {RegistryStore} from '../registry/store.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import type {ApprovalClaim} from '../protocol/frames.js';
import {agentRequest, secretPositions, type RunPlan} from '../run/plan.js';
import type {PlanPorts} from './run-plan.js';

export type ExecutePorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	/** Opened on first use: the CLI opens its log per run, the API server holds one for its life. */
	audit: () => AuditLog;
	context: ClientContext;
	/** The serial of the controller certificate the agents will see, recorded with the request. */
	controllerSerial: string;
	now?: () => Date;
	/** The connections resolvePlan kept from its describe (the same object): the run takes them; closed when the run ends or cannot start. */
	connections?: RunConnections;
	/** The description cache the plan was made from, if any: a host planned again is remembered as it answers now. */
	descriptions?: DescriptionFile;
};

/** What a face that both resolves and executes hands the pair. */
export type RunPorts = PlanPorts & ExecutePorts;

export type RunStartOptions = {
	emit?: (event: RunEvent) => void;
	cancel?: AbortSignal;
	/** Recorded in the history's end line when `cancel` fired. */
	cancelledBy?: string;
	/** Where the cancel came from, when a face knows (the REST API: the client's address); read when it comes. */
	cancelledFrom?: string;
	/** Asked once the canary hosts are all ok; without it a canary run stops after them. */
	approveCanary?: (canary: AgentResult[]) => Promise<boolean>;
	/** The two-person approval this plan executes: recorded with the request and sent to every host. */
	approval?: ApprovalClaim;
	/**
	 * The caller closes the audit log after this run (the CLI): the checkpoint closing it writes is
	 * asked with the last host's outcome instead, so both share one lock, one write and one fsync.
	 */
	closesAudit?: boolean;
};

export type RunOutcome = {
	/** Counts and the first hosts not ok (bounded: run/run-summary.ts); every host's result went out as an event and is in the history. */
	summary: RunSummary;
	cancelled: boolean;
	/** Set when the history could not be written; the run itself went ahead. */
	historyProblem?: string;
	/** What keeping the answering agents' certificates current did after the run (renewals, a rotation's handover), in words. */
	certificates?: string;
	/** The hosts planned from a cached entry that had changed, planned again during the run (plan-refresh.ts). */
	refreshed?: string[];
};

/** A plan whose request is recorded: the run goes on, and `outcome` says how it ended. */
export type RunExecution = {requestId: string; outcome: Promise<RunOutcome>};

export async function executePlan(ports: ExecutePorts, plan: RunPlan, options: RunStartOptions = {}): Promise<RunExecution> {
	try {
		const audit = ports.audit();
		await recordRequest(audit, plan, ports.controllerSerial, options.approval);
		const outcome = runPlan(ports, audit, plan, options);
		void outcome.catch(() => undefined).finally(() => ports.connections?.close());
		return {requestId: plan.requestId, outcome};
	} catch (error) {
		ports.connections?.close();
		throw error;
	}
}

/** Fails closed: no record of the request, no request. */
async function recordRequest(audit: AuditLog, plan: RunPlan, controllerSerial: string, approval: ApprovalClaim | undefined): Promise<void> {
	const request = audit.append({
		event: plan.dryRun ? 'run.dry-run' : 'run.request',
		requestId: plan.requestId,
		script: plan.script,
		args: plan.shownArgs,
		argsHash: argsHash(plan.args),
		caller: plan.caller,
		source: plan.source,
		client: plan.client,
		token: plan.token ? {id: plan.token.id, name: plan.token.name} : undefined,
		selector: plan.selector,
		targets: plan.targets.map(target => target.name),
		controllerSerial,
		rerunOf: plan.rerunOf,
		parent: plan.parent,
		rollout: plan.rollout ? {...plan.rollout} : undefined,
		planHash: plan.hash,
		approval,
	});
	// Seal the request at once: the signed head goes to every agent, which records it as its
	// witness of this log (a request later cut from this log then shows in `audit verify --cross`).
	// Asked together, the record and its checkpoint share one write and one fsync, the record
	// first; a record that fails fails the request, whatever its checkpoint did.
	await Promise.all([request, plan.dryRun ? undefined : audit.checkpoint()]);
}

async function runPlan(ports: ExecutePorts, audit: AuditLog, plan: RunPlan, options: RunStartOptions): Promise<RunOutcome> {
	const now = ports.now ?? (() => new Date());
	const cancel = options.cancel ?? new AbortController().signal;
	// The run's own time, from here (the request recorded) to the last host's end: the history and
	// the run's events (so `run --json` and the REST API) carry the same instants.
	const startedAt = now();
	let endedAt: Date | undefined;
	const history = openHistory(ports.paths, plan.dryRun, historyHeader(plan, startedAt));
	try {
		// The history file's creation (two fsyncs) and the pruning of old runs are off the request's
		// path: they start once the dispatcher has sent the requests it could send at once (an
		// immediate runs after the promise reactions that write them on connections already open), so
		// the requests' round trip hides them. The file is created synchronously, header first, and at
		// the latest by the first event that reports a host (openHistory), so a controller killed once
		// any host has answered leaves the run's history on disk, as before.
		const historyKept = plan.dryRun ? Promise.resolve() : new Promise<void>(resolve => {
			setImmediate(resolve);
		}).then(async () => {
			const created = history.start();
			await pruneHistory(historyDirectory(ports.paths), readControllerSettings(ports.paths), audit, plan.caller, now(), created);
		});
		const recorder = recordRunOutcomes(audit, plan, {cancel, cancelledBy: () => options.cancelledBy, cancelledFrom: () => options.cancelledFrom, closesAudit: Boolean(options.closesAudit)});
		// The hosts that answered (whatever their status), with the link each answered over: names only.
		const answered = new Map<string, SeenVia | undefined>();
		const controllerHead = audit.signedHead();
		const registry = registryFacts(await ports.registry.read(), plan.targets);
		const hold = ports.connections?.hold();
		const fresh = freshControllerContext(ports);
		const sealed = secretPositions(plan);
		const threads = await openRunThreads(ports.paths, ports.controllerSerial, plan.targets.length, ports.connections);
		// Hosts planned from a cached entry that changed since are planned again, once (plan-refresh.ts).
		const stale = plan.cached ? refreshingStalePlans(threads?.runOnHost ?? runOnAgent, plan, {context: ports.context, revoked: registry.revoked, records: registry.agents, audit, now, ...(ports.descriptions ? {descriptions: ports.descriptions} : {})}) : undefined;
		const runOnHost = stale?.runOnHost ?? threads?.runOnHost;
		const summary = await dispatch(registry.targets, {...agentRequest(plan), ...(sealed.length > 0 ? {secretPositions: sealed} : {}), ...(controllerHead ? {controllerHead} : {}), ...(options.approval ? {approval: options.approval, approvedEntries: plan.entries ?? {}} : {})}, {
			context: ports.context,
			...(hold ? {hold} : {}),
			revoked: registry.revoked,
			freshContext: fresh.get,
			parallel: plan.parallel,
			cancel,
			...plan.rollout,
			...(options.approveCanary ? {approveCanary: options.approveCanary} : {}),
			...(runOnHost ? {runOnHost} : {}),
			emit(sent: RunEvent) {
				const event = stampedEvent(sent, plan, startedAt, () => {
					endedAt = now();
					return endedAt;
				});
				recorder.onEvent(event);
				if (event.type === 'agent-finished' && event.result.status !== 'unreachable' && event.result.status !== 'skipped') {
					answered.set(event.result.agent, event.result.via);
				}

				history.write(event);
				options.emit?.(event);
			},
		}).finally(async () => threads?.close());
		hold?.close();
		stale?.remember();
		recorder.stop();
		await fresh.close();
		await historyKept;
		history.end((endedAt ?? now()).toISOString(), cancel.aborted ? options.cancelledBy : undefined);
		await recorder.settled();
		await markAnswered(ports.registry, registry.agents, answered, now().toISOString());
		const certificates = plan.dryRun ? undefined : await maintainAfterContact({paths: ports.paths, context: ports.context, caller: plan.caller, now, audit: ports.audit}, registry.agents.filter(agent => answered.has(agent.name)));
		const refreshed = stale?.refreshed() ?? [];
		return {summary, cancelled: cancel.aborted, ...(refreshed.length > 0 ? {refreshed} : {}), ...(history.problem() ? {historyProblem: history.problem()} : {}), ...(certificates ? {certificates} : {})};
	} finally {
		// A run that failed wrote no end line, which is what closes the file otherwise.
		history.close();
	}
}

/**
 * The answering hosts marked seen: one appended line per link, not a locked rewrite of the
 * registry (registry/store.ts): the link each one answered over (an agent of transport both over
 * either), else its transport's.
 */
async function markAnswered(registry: RegistryStore, agents: ReadonlyArray<Pick<AgentRecord, 'name' | 'transport'>>, answered: ReadonlyMap<string, SeenVia | undefined>, seenAt: string): Promise<void> {
	const transportOf = new Map(agents.map(agent => [agent.name, agent.transport]));
	const viaOf = (name: string) => answered.get(name) ?? (transportOf.has(name) ? seenViaOf(transportOf.get(name)) : undefined);
	for (const via of ['tls', 'relay', undefined] as const) {
		await registry.markSeen([...answered.keys()].filter(name => viaOf(name) === via), seenAt, via).catch(() => undefined);
	}
}

/** The dispatcher's event as faces see it: the shown (not secret) arguments, and the run's own times. */
function stampedEvent(sent: RunEvent, plan: RunPlan, startedAt: Date, end: () => Date): RunEvent {
	if (sent.type === 'run-started') {
		return {...sent, args: plan.shownArgs, startedAt: startedAt.toISOString()};
	}

	if (sent.type === 'run-finished') {
		const ended = end();
		return {...sent, endedAt: ended.toISOString(), durationMs: Math.max(0, ended.getTime() - startedAt.getTime())};
	}

	return sent;
}

function historyHeader(plan: RunPlan, startedAt: Date): RunHeader {
	return {
		type: 'run',
		requestId: plan.requestId,
		script: plan.script,
		args: [...plan.shownArgs],
		...(plan.secretArgs ? {secretArgs: true} : {}),
		selector: [...plan.selector],
		caller: plan.caller,
		...(plan.token ? {token: {id: plan.token.id, name: plan.token.name}} : {}),
		startedAt: startedAt.toISOString(),
		targets: plan.targets.map(target => target.name),
		...(plan.rerunOf ? {rerunOf: plan.rerunOf} : {}),
		...(plan.parent ? {parent: plan.parent} : {}),
	};
}

/** New credentials when the controller certificate on disk is no longer the one this run started with. */
function freshControllerContext(ports: ExecutePorts): {get: () => ClientContext | undefined; close: () => Promise<void>} {
	let fresh: ClientContext | undefined;
	return {
		get() {
			if (!fresh) {
				const credentials = loadControllerCredentials(ports.paths);
				if (normaliseSerial(new X509Certificate(credentials.cert).serialNumber) !== ports.controllerSerial) {
					fresh = createClientContext(credentials);
				}
			}

			return fresh;
		},
		close: async () => fresh?.close(),
	};
}

/**
 * What the run needs of the registry, from one read, so that the registry itself is not held while
 * the hosts run: the plan's targets as dispatched, the serials refused since, and of each target
 * what the describe cache, the seen journal and certificate upkeep look at (no certificates: a
 * 10,000-agent registry is 12 MiB of heap, which V8 lets the old generation grow to about four
 * times before collecting; held for the run, the CLI peaked ~25 MiB higher).
 */
function registryFacts(registry: Registry, targets: RunPlan['targets']) {
	const planned = new Set(targets.map(target => target.name));
	return {
		targets: withRegistryCertificates(targets, registry.agents),
		revoked: revokedSerials(registry),
		agents: registry.agents.filter(agent => planned.has(agent.name)).map(({name, serial, address, transport, relay, certificateIssued, certificateExpires}) => ({name, serial, address, transport, relay, certificateIssued, certificateExpires})),
	};
}

/**
 * A relay host's replies are verified with the certificate the registry holds for it now (a
 * renewal since the plan was made changed it); a host unpaired since keeps none, and is refused.
 */
function withRegistryCertificates(targets: RunPlan['targets'], records: readonly AgentRecord[]): AgentTarget[] {
	const byName = new Map(records.map(record => [record.name, record]));
	return targets.map(target => {
		const record = byName.get(target.name);
		return target.transport && record ? {...target, serial: record.serial, ...(record.certificate ? {certificate: record.certificate} : {})} : target;
	});
}

/**
 * The run's history file, created by `start()` (which names it, for pruning to keep) or by the
 * first event about a host, whichever comes first; the lines before it wait in memory and follow
 * the header. A dry run runs nothing and is not kept.
 * A history that cannot be written (a full disk) stops being written; the run goes on and the
 * outcome says why.
 */
function openHistory(paths: ControllerPaths, dryRun: boolean, header: RunHeader) {
	let writer: RunWriter | undefined;
	let waiting: HistoryLine[] | undefined = dryRun ? undefined : [];
	let problem: string | undefined;
	let closed = false;
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

	const write = (line: HistoryLine) => {
		if (waiting) {
			waiting.push(line);
		} else if (writer) {
			guard(() => writer!.write(line));
		}
	};

	/** Creates the file (fsynced, with its directory) once and writes what waited; its name. */
	const start = (): string | undefined => {
		if (waiting) {
			const lines = waiting;
			waiting = undefined;
			guard(() => {
				writer = startRunFile(historyDirectory(paths), header);
			});
			for (const line of lines) {
				write(line);
			}

			if (closed) {
				writer?.close();
			}
		}

		return writer ? basename(writer.path) : undefined;
	};

	return {
		start,
		write(event: RunEvent) {
			// What a host said (or that it could not be reached) is only ever written after the header:
			// the file is created now if the immediate has not come yet.
			if (waiting && event.type !== 'run-started' && event.type !== 'agent-connecting') {
				start();
			}

			const line = historyLine(event);
			if (line) {
				write(line);
			}
		},
		end(endedAt: string, cancelledBy: string | undefined) {
			write({type: 'end', endedAt, ...(cancelledBy === undefined ? {} : {cancelledBy})});
		},
		/** The file's descriptor closed however the run stopped (the end line closes it; a failed run writes none). */
		close() {
			closed = true;
			writer?.close();
		},
		problem: () => problem,
	};
}
