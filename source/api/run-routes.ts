/**
 * The runs: start one (POST /v1/runs, or POST /v1/scripts/{name} with its arguments checked
 * against the advertised schemas), the history (list, one run), cancel, and the events as
 * Server-Sent Events. Each through the same use cases as `xi-exec run`, `runs` and `cancel`.
 */
import {cancelRecordedRun, type CancelAnswer} from '../core/cancel-run.js';
import {checkScriptCall} from '../core/script-call.js';
import {XiError} from '../errors.js';
import {runSummary, storedRunDocument} from '../history/run-record.js';
import {findRun, historyDirectory, listRuns} from '../history/run-store.js';
import {selectorValues} from '../policy/selector.js';
import {refuseOutOfScope, runFitsScope, selectWithinScope, tokenCaller} from './caller-scope.js';
import type {ApiPorts, Handler, RouteFile} from './route-file.js';
import {errorResponses, type RouteSpec} from './route-spec.js';
import {parseEventId} from './run-events.js';
import {findRunFile, replayHeader, streamEvents} from './run-event-stream.js';
import * as s from './schemas.js';
import {startRun, type RunBody} from './start-run.js';

const routes: readonly RouteSpec[] = [
	{
		method: 'POST', url: '/v1/runs', access: 'token', operationId: 'run', tag: 'runs',
		summary: 'Run an allowlisted script on the selected agents',
		description: 'Answers the same document as `xi-exec run --json`, streamed: the status and the document\'s head go out when the run starts, each host\'s result when that host ends, the close when the run ends (Content-Location names the run). The server holds no host\'s output once it is sent; a client that falls more than 4 MiB behind gets the next results without their output (`outputOmitted` says how much and where the full result is). A body that stops before its close means the server failed mid-run: GET /v1/runs/{id} has what was recorded. With `"dryRun": true`, the document of `xi-exec run --dry-run --json` once every agent has answered; with `"wait": false`, 202 at once. A run the controller\'s approvals policy gates does not run: 409 APPROVAL_PENDING, whose `approval` names the request (id, needs, expiresAt) and where to follow it and, once approved, run it. A selector reaching any agent outside the token\'s scope refuses the whole request before anything is dialled.',
		schema: {body: s.runBodySchema, response: {200: s.runAnswerSchema, 202: s.acceptedSchema, 409: s.approvalPendingErrorSchema, ...errorResponses}},
	},
	{
		method: 'POST', url: '/v1/scripts/:script', access: 'token', operationId: 'runScript', tag: 'scripts',
		summary: 'Run one script (its own operation in /openapi.json)',
		description: 'The arguments are checked against the argument schema each selected agent advertises before anything runs. Answers as POST /v1/runs.',
		schema: {params: s.scriptParamsSchema, body: s.scriptRunBody, response: {200: s.runAnswerSchema, 202: s.acceptedSchema, 409: s.approvalPendingErrorSchema, ...errorResponses}},
	},
	{
		method: 'GET', url: '/v1/runs', access: 'token', operationId: 'listRuns', tag: 'runs',
		summary: 'Recent runs from the history, newest first',
		description: 'Each run as a line of `xi-exec runs --json`.',
		schema: {querystring: s.runsQuerySchema, response: {200: s.runListSchema, ...errorResponses}},
	},
	{
		method: 'GET', url: '/v1/runs/:id', access: 'token', operationId: 'getRun', tag: 'runs',
		summary: 'One run from the history, with its full output',
		description: 'The same document as `xi-exec runs show ID --json` (and `xi-exec run --json`). A run still going shows the hosts that have not answered yet as `error` with the reason "no result was recorded".',
		schema: {params: s.runParamsSchema, querystring: s.runQuerySchema, response: {200: s.runDocumentSchema, ...errorResponses}},
	},
	{
		method: 'POST', url: '/v1/runs/:id/cancel', access: 'token', operationId: 'cancelRun', tag: 'runs',
		summary: 'Cancel a run on every host still running it',
		description: 'As `xi-exec cancel ID`: each host without a result is asked to cancel, kills the script\'s whole process group and ends as `cancelled`; hosts not started yet are not started (`skipped`). Recorded in the controller\'s audit log with the caller and the source address. A token may cancel only runs within its scope.',
		schema: {params: s.runParamsSchema, response: {200: s.cancelAnswerSchema, ...errorResponses}},
	},
	{
		method: 'GET', url: '/v1/runs/:id/events', access: 'token', operationId: 'runEvents', tag: 'runs', produces: 'text/event-stream',
		summary: 'The run\'s events as Server-Sent Events, as they happen',
		description: 'Each event\'s `event` is its type and its `data` a RunEvent. A run in progress streams live; a finished run is replayed from the history. The stream ends after `run-finished`. Each event has an `id` that means the same event live and replayed: a client that reconnects with `Last-Event-ID` (as EventSource does) gets only the events after that one, from the live run or the history, then the live ones. The past is read from the history as the client takes it: an `agent-finished`, replayed or live, repeats its host\'s output (sent before in its `agent-output` events) only while no more than 4 MiB of output is held at once for results; past that, it comes with stdout and stderr empty and `outputOmitted`. A live stream whose client falls 4 MiB behind catches up from the history. A stream that cannot go on ends with an `error` event whose `data` has the shape of the error answers (`{"error": {"code", "message"}}`): `CONFIG_INVALID` when a client joining a live run cannot be caught up because the run\'s history file cannot be opened (it is not sent events with a gap; GET /v1/runs/{id} gives the run\'s result once it ends), or a finished run\'s history file is there but cannot be opened or read (EMFILE, EACCES, EIO: the message says what to do), `INTERNAL` when an event could not be sent. A dry run has no history: while it goes, a client that joins late gets each earlier host\'s `agent-finished` with the fields of a dry run\'s answer only (agent, status, reason, durationMs; no signed head, link or notes).',
		schema: {params: s.runParamsSchema, headers: s.eventStreamHeadersSchema, response: {200: s.runEventSchema, ...errorResponses}},
	},
];

function handlers(ports: ApiPorts): Record<string, Handler> {
	return {
		async run(request, reply, caller) {
			const body = request.body as RunBody & {script: string};
			return startRun(ports, request, reply, tokenCaller(caller), body);
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
			return startRun(ports, request, reply, token, {...body, script});
		},

		async listRuns(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const query = request.query as {on?: string | string[]; limit: number};
			const {registry, agents} = await selectWithinScope(ports.registry, scope, query.on);
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
			const run = findRun(historyDirectory(ports.paths), id);
			refuseOutOfScope(scope, run.header, await ports.registry.read());
			return storedRunDocument(run, agent);
		},

		async cancelRun(request, _reply, caller) {
			const {scope} = tokenCaller(caller);
			const {id} = request.params as {id: string};
			const run = findRun(historyDirectory(ports.paths), id);
			refuseOutOfScope(scope, run.header, await ports.registry.read());
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
			const stored = live ? undefined : findRunFile(historyDirectory(ports.paths), id);
			const about = live ?? (stored ? replayHeader(stored) : undefined);
			if (!about) {
				throw new XiError('RUN_UNKNOWN', `No run ${id} is going on or in the history; GET /v1/runs lists the recent ones.`);
			}

			refuseOutOfScope(scope, about, registry);
			const lastEventId = request.headers['last-event-id'];
			const last = lastEventId === undefined ? undefined : parseEventId(String(lastEventId));
			if (lastEventId !== undefined && !last) {
				throw new XiError('USAGE', `header Last-Event-ID ${JSON.stringify(String(lastEventId).slice(0, 40))} is not an id this stream sends (N or N.K).`);
			}

			streamEvents(request, reply, ports, id, stored, last);
			return reply;
		},
	};
}

export const runRoutes: RouteFile = {routes, handlers};
