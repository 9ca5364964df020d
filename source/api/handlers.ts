/**
 * What each route does, as thin calls into the same core the CLI uses: target resolution
 * (resolveTargets), token scopes (checkScope), discovery (discoverAgent), the run use case
 * (checkScriptCall for a typed call, resolvePlan, then executePlan), the history store, the
 * token and audit use cases. Each handler gets the caller the authentication hook found, and
 * answers a value the server validates against the route's schema.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import type {SecureContext} from 'node:tls';
import type {FastifyReply, FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import type {AuditLog} from '../audit/file-log.js';
import {argsHash} from '../audit/record.js';
import {listAuditRecords} from '../core/audit.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import {selectorValues} from '../policy/selector.js';
import {createJsonRunWriter} from '../output/json-run.js';
import {createDryRunView} from '../output/dry-run-view.js';
import {createToken, listTokens, revokeToken} from '../core/tokens.js';
import type {RunEvent} from '../run/events.js';
import {cancelRecordedRun, type CancelAnswer} from '../core/cancel-run.js';
import {executePlan, type RunStartOptions} from '../core/run-execute.js';
import {resolvePlan} from '../core/run-plan.js';
import {checkScriptCall} from '../core/script-call.js';
import type {ControllerPaths} from '../home.js';
import {findRun, historyDirectory, listRuns} from '../history/run-store.js';
import {runSummary, storedRunDocument, type StoredRun} from '../history/run-record.js';
import {checkScope, reachProblem, scopeAllowsScript, type TokenRecord, type TokenScope} from '../policy/tokens.js';
import {markSeen, type AgentRecord, type Registry} from '../registry/model.js';
import type {RegistryStore} from '../registry/store.js';
import type {Caller} from './auth.js';
import type {DiscoveryCache} from '../core/discovery-cache.js';
import {buildOpenApiDocument} from './openapi.js';
import {routes} from './routes.js';
import {runbookOperations, runbookRoutes} from './runbook-routes.js';
import {decidePolicy, type PolicyContext} from './policy-decision.js';
import {openApprovalStore} from '../approvals/store.js';
import {isApprovalClaim} from '../protocol/decode.js';
import type {RequestRecords} from './request-records.js';
import {createEventNumbering, formatSse, isAfter, parseEventId, replayHistory, type EventPosition, type LiveRuns} from './run-events.js';
import {buildCatalog} from '../core/script-catalog.js';
import {agentView} from './views.js';
import {runControlFromBody, type RunControlBody} from './run-options.js';

export type ApiPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	tokens: () => Promise<readonly TokenRecord[]>;
	audit: AuditLog;
	clientContext: SecureContext;
	controllerSerial: string;
	discovery: DiscoveryCache;
	discoveryMaxAgeMs: number;
	requestRecords: RequestRecords;
	live: LiveRuns;
	/** Aborted when the server stops: runs still going are cancelled on every agent. */
	stopping: AbortSignal;
	/** Runs still going, so the server can wait for their records when it stops. */
	running: Set<Promise<unknown>>;
	/** Checks one Server-Sent Event's data against the published RunEvent schema. */
	checkEvent: (event: RunEvent) => string | undefined;
	/** Headers every response carries (CORS), for streams written outside Fastify's reply. */
	extraHeaders: (request: FastifyRequest) => Record<string, string>;
	version: string;
	now: () => Date;
	log: (line: string) => void;
	/** How often an idle event stream gets a comment line (default 15 s), so proxies do not cut it. */
	heartbeatMs?: number;
};

export type Handler = (request: FastifyRequest, reply: FastifyReply, caller: Caller) => Promise<unknown>;

type RunBody = RunControlBody & {script?: string; args: string[]; on: string | string[]; parallel: number; timeoutSeconds: number; dryRun: boolean; wait: boolean; yes: boolean};

export function createHandlers(ports: ApiPorts): Record<string, Handler> {
	const tokenCaller = (caller: Caller): {scope: TokenScope; token: string} => {
		if (caller.kind !== 'token') {
			throw new XiError('INTERNAL', 'a token route was reached without a token');
		}

		return caller;
	};

	/** The agents a listing selects (`on`, default all), refused when any lies outside the token's scope. */
	const selectWithinScope = async (scope: TokenScope, on: string | string[] | undefined): Promise<{registry: Registry; agents: AgentRecord[]}> => {
		const registry = await ports.registry.read();
		const agents = resolveTargets(registry, selectorValues(on ?? []), {defaultAll: true});
		const problem = reachProblem(scope, agents);
		if (problem) {
			throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}; select agents within the token's scope with on.`);
		}

		return {registry, agents};
	};

	const runFitsScope = (scope: TokenScope, script: string, targets: readonly string[], registry: Registry): string | undefined => {
		const agents = targets.map(name => registry.agents.find(agent => agent.name === name) ?? {name, tags: {}});
		return checkScope(scope, script, agents);
	};

	const startRun = async (request: FastifyRequest, reply: FastifyReply, caller: {scope: TokenScope; token: string}, body: RunBody & {script: string}): Promise<unknown> => {
		const control = runControlFromBody(body);
		const plan = await resolvePlan({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, now: ports.now}, {
			script: body.script,
			args: body.args,
			on: selectorValues(body.on),
			parallel: body.parallel,
			timeoutSeconds: body.timeoutSeconds,
			dryRun: body.dryRun,
			caller: `api:${caller.scope.name}`,
			source: request.ip,
			token: caller.token,
			rollout: control.rollout,
			yes: body.yes,
		});
		const live = ports.live.begin({requestId: plan.requestId, script: plan.script, targets: plan.targets.map(target => target.name)});
		// The answer is written by the very writer `run --json` (or `run --dry-run --json`) prints with, fed the same events.
		let written = '';
		const write = (text: string) => (written += text);
		const document = body.wait ? (body.dryRun ? createDryRunView(write, {json: true}) : createJsonRunWriter(write)) : undefined;
		const emit = (event: RunEvent) => {
			document?.onEvent(event);
			live.emit(event);
		};

		// Cancelled by the server stopping, or by POST /v1/runs/{id}/cancel: the core records who
		// and from where when the cancel comes (so these are read then).
		const cancelledHere = () => (live.cancel.signal.aborted ? live.cancel.signal.reason as {by: string; from: string} : undefined);
		const startOptions: RunStartOptions = {
			emit,
			cancel: AbortSignal.any([ports.stopping, live.cancel.signal]),
			get cancelledBy() {
				return cancelledHere()?.by ?? 'xi-exec serve (stopping)';
			},
			get cancelledFrom() {
				return cancelledHere()?.from;
			},
			...(control.approveCanary ? {approveCanary: control.approveCanary} : {}),
		};
		const execution = await executePlan({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, controllerSerial: ports.controllerSerial, now: ports.now}, plan, startOptions).catch((error: unknown) => {
			// Not recorded, so not run: nothing is live.
			ports.live.end(plan.requestId);
			throw error;
		});
		const done = execution.outcome.finally(() => {
			ports.live.end(plan.requestId);
		});
		ports.running.add(done);
		void done.catch(() => undefined).finally(() => ports.running.delete(done));
		if (!body.wait) {
			done.catch((error: unknown) => {
				ports.log(`run ${plan.requestId}: ${(error as Error).message}`);
			});
			reply.code(202);
			return {requestId: plan.requestId, events: `/v1/runs/${plan.requestId}/events`, run: `/v1/runs/${plan.requestId}`};
		}

		const outcome = await done;
		if (outcome.historyProblem) {
			ports.log(`run ${plan.requestId}: ${outcome.historyProblem}`);
		}

		return JSON.parse(written) as unknown;
	};

	return {
		async health() {
			return {status: 'ok'};
		},

		async openapi(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const {agents} = await selectWithinScope(scope, (request.query as {on?: string | string[]}).on);
			const found = await ports.discovery.discover(agents, {maxAgeMs: ports.discoveryMaxAgeMs});
			return buildOpenApiDocument({catalog: buildCatalog(found, script => scopeAllowsScript(scope, script)), version: ports.version, routes: [...routes, ...runbookRoutes], extraPaths: runbookOperations(ports.paths)});
		},

		async listAgents(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const query = request.query as {on?: string | string[]; timeoutSeconds: number};
			const {agents} = await selectWithinScope(scope, query.on);
			const found = await ports.discovery.discover(agents, {maxAgeMs: 0, timeoutMs: query.timeoutSeconds * 1000});
			const now = ports.now().toISOString();
			const reachable = found.filter(agent => agent.status === 'reachable').map(agent => agent.name);
			await ports.registry.update(registry => markSeen(registry, reachable, now)).catch(() => undefined);
			return {agents: agents.map((agent, index) => agentView(agent, found[index]!, reachable.includes(agent.name) ? now : agent.lastSeen, script => scopeAllowsScript(scope, script)))};
		},

		async run(request, reply, caller) {
			const body = request.body as RunBody & {script: string};
			return startRun(request, reply, tokenCaller(caller), body);
		},

		async runScript(request, reply, caller) {
			const token = tokenCaller(caller);
			const {script} = request.params as {script: string};
			const body = request.body as RunBody;
			await checkScriptCall(
				{registry: async () => ports.registry.read(), audit: ports.audit, discovery: ports.discovery, discoveryMaxAgeMs: ports.discoveryMaxAgeMs},
				{script, args: body.args, on: selectorValues(body.on), scope: token.scope, caller: `api:${token.scope.name}`, source: request.ip},
				{argsField: 'body field args', scriptsListed: 'GET /openapi.json'},
			);
			return startRun(request, reply, token, {...body, script});
		},

		async listRuns(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const query = request.query as {on?: string | string[]; limit: number};
			const {registry, agents} = await selectWithinScope(scope, query.on);
			const selected = new Set(agents.map(agent => agent.name));
			const runs = listRuns(historyDirectory(ports.paths), 1000)
				.filter(run => run.header.targets.every(name => selected.has(name)) && runFitsScope(scope, run.header.script, run.header.targets, registry) === undefined)
				.slice(0, query.limit);
			return {runs: runs.map(run => runSummary(run))};
		},

		async getRun(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const {id} = request.params as {id: string};
			const {agent} = request.query as {agent?: string};
			const run: StoredRun = findRun(historyDirectory(ports.paths), id);
			const problem = runFitsScope(scope, run.header.script, run.header.targets, await ports.registry.read());
			if (problem) {
				throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}.`);
			}

			return storedRunDocument(run, agent);
		},

		async cancelRun(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const {id} = request.params as {id: string};
			const run: StoredRun = findRun(historyDirectory(ports.paths), id);
			const problem = runFitsScope(scope, run.header.script, run.header.targets, await ports.registry.read());
			if (problem) {
				throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}.`);
			}

			const who = `api:${scope.name}`;
			// A run this server is running: stop it here (no new host starts; the running ones are
			// cancelled on their own connections, as Ctrl-C in `xi-exec run` does; the run flow records it).
			const here = ports.live.cancel(id, {by: who, from: request.ip});
			const answers: CancelAnswer[] = here
				? [
					...here.running.map(agent => ({agent, outcome: 'cancelled' as const})),
					...here.notStarted.map(agent => ({agent, outcome: 'not running' as const, reason: 'not started yet: it will not be (skipped)'})),
				]
				// Any other run (from the CLI, another server): as `xi-exec cancel ID` does.
				: (await cancelRecordedRun({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext}, {requestId: id, caller: who, source: request.ip})).answers;
			return {requestId: id, agents: answers.map(answer => ({agent: answer.agent, outcome: answer.outcome, reason: answer.reason ?? null}))};
		},

		async runEvents(request, reply, caller) {
			const {scope} = tokenCaller(caller);
			const {id} = request.params as {id: string};
			const registry = await ports.registry.read();
			const live = ports.live.get(id);
			const stored = live ? undefined : readRunLines(historyDirectory(ports.paths), id);
			const about = live ?? (stored ? replayHeader(stored) : undefined);
			if (!about) {
				throw new XiError('RUN_UNKNOWN', `No run ${id} is going on or in the history; GET /v1/runs lists the recent ones.`);
			}

			const problem = runFitsScope(scope, about.script, about.targets, registry);
			if (problem) {
				throw new XiError('OUT_OF_SCOPE', `Refused: ${problem}.`);
			}

			const lastEventId = request.headers['last-event-id'];
			const last = lastEventId === undefined ? undefined : parseEventId(String(lastEventId));
			if (lastEventId !== undefined && !last) {
				throw new XiError('USAGE', `header Last-Event-ID ${JSON.stringify(String(lastEventId).slice(0, 40))} is not an id this stream sends (N or N.K).`);
			}

			streamEvents(request, reply, ports, id, stored, last);
			return reply;
		},

		async listAudit(request) {
			const query = request.query as {request?: string; agent?: string; since?: string; limit: number};
			const records = listAuditRecords(ports.paths.auditLog, {request: query.request, agent: query.agent, since: query.since}, ports.now());
			return {records: records.slice(-query.limit)};
		},

		async listTokens() {
			return {tokens: await listTokens({paths: ports.paths, now: ports.now()})};
		},

		async createToken(request, reply, caller) {
			const body = request.body as {name: string; scripts: string[]; on: string | string[]; expires?: string; operator?: boolean};
			const {token, id, name, scripts, on, expiresAt, operator} = await createToken(
				{paths: ports.paths, now: ports.now(), audit: ports.audit},
				{name: body.name, scripts: body.scripts, on: selectorValues(body.on), expires: body.expires, ...(body.operator ? {operator: true} : {})},
				{caller: `api:${tokenCaller(caller).scope.name}`, source: request.ip},
			);
			reply.code(201);
			return {token, id, name, scripts, on, expiresAt, operator};
		},

		async revokeToken(request, _reply, caller) {
			const {name} = request.params as {name: string};
			await revokeToken({paths: ports.paths, now: ports.now(), audit: ports.audit}, name, {caller: `api:${tokenCaller(caller).scope.name}`, source: request.ip});
			return {name, revoked: true};
		},

		async policyCheck(request, _reply, caller) {
			if (caller.kind !== 'agent') {
				throw new XiError('INTERNAL', 'the policy route was reached without an agent certificate');
			}

			const context = request.body as PolicyContext;
			const now = ports.now();
			const record = ports.requestRecords.find(context.requestId, now);
			const approvalId = record?.approval?.id ?? (isApprovalClaim(context.approval) ? context.approval.id : undefined);
			const approval = approvalId === undefined ? undefined : (await openApprovalStore(ports.paths.home).read()).requests.find(candidate => candidate.id === approvalId);
			const answer = decidePolicy({
				context,
				certificateAgent: caller.agent,
				record,
				...(approval ? {approval} : {}),
				tokens: await ports.tokens(),
				now,
			});
			// Every decision is recorded; without a record there is no allow (the hook denies on a 503).
			await ports.audit.append({
				event: 'policy.decision',
				requestId: context.requestId,
				agent: caller.agent.name,
				script: context.script,
				argsHash: argsHash(context.args),
				token: context.token ? {id: context.token.id} : undefined,
				approvalId,
				allowed: answer.allow,
				reason: answer.reason,
				source: request.ip,
			});
			return answer;
		},
	};
}

/** A stored run's history lines (`runs/<started>_<requestId>.jsonl`), or undefined. */
function readRunLines(directory: string, requestId: string): string[] | undefined {
	let names: string[];
	try {
		names = readdirSync(directory);
	} catch {
		return undefined;
	}

	const name = names.find(file => file.endsWith(`_${requestId}.jsonl`));
	if (!name) {
		return undefined;
	}

	try {
		return readFileSync(join(directory, name), 'utf8').split('\n').filter(line => line.length > 0);
	} catch {
		return undefined;
	}
}

function replayHeader(lines: readonly string[]): {script: string; targets: string[]} | undefined {
	const [first] = replayHistory(lines.slice(0, 1));
	return first?.type === 'run-started' ? {script: first.script, targets: first.targets} : undefined;
}

const heartbeatMs = 15_000;

/**
 * Writes the run's events as Server-Sent Events: a live run's events so far and then each new
 * one, or a stored run's replay; the stream ends after `run-finished` (or the replay's end).
 * With `last` (the client's Last-Event-ID), only the events after that one.
 */
function streamEvents(request: FastifyRequest, reply: FastifyReply, ports: ApiPorts, requestId: string, stored: string[] | undefined, last: EventPosition | undefined): void {
	reply.hijack();
	const response = reply.raw;
	response.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-store',
		'x-content-type-options': 'nosniff',
		...ports.extraHeaders(request),
	});
	const number = createEventNumbering();
	let ended = false;
	const following: {stop?: () => void} = {};
	const end = () => {
		if (!ended) {
			ended = true;
			clearInterval(heartbeat);
			following.stop?.();
			response.end();
		}
	};

	const send = (event: RunEvent) => {
		if (ended) {
			return;
		}

		const {id, position} = number(event);
		if (!last || isAfter(position, last)) {
			const problem = ports.checkEvent(event);
			if (problem) {
				ports.log(`run ${requestId}: an event breaks the published RunEvent schema: ${problem}`);
				response.write(`event: error\ndata: ${JSON.stringify({error: {code: 'INTERNAL', message: 'an event could not be sent'}})}\n\n`);
				end();
				return;
			}

			response.write(formatSse(event, id));
		}

		if (event.type === 'run-finished') {
			end();
		}
	};

	const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), ports.heartbeatMs ?? heartbeatMs);
	heartbeat.unref();
	response.on('close', end);
	const live = stored ? undefined : ports.live.follow(requestId, send);
	following.stop = live?.stop;
	// A live run that ended between the look-up and now is in the history by now.
	const replay = stored ?? (live ? undefined : readRunLines(historyDirectory(ports.paths), requestId));
	const past = replay ? replayHistory(replay) : (live?.past ?? []);
	for (const event of past) {
		send(event);
	}

	// A stored run that never ended (the controller stopped mid-run) has nothing more to say.
	if (!live) {
		end();
	}
}
