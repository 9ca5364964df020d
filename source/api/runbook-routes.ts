/**
 * The REST API's runbook routes (their own table, registered beside routes.ts): list the
 * runbooks, run one (or dry-run it: each host's policy answer per step), the history of runbook
 * runs, one run's record (the document `runbooks show ID --json` prints), its events as
 * Server-Sent Events per step, cancel and resume. /openapi.json gets one operation per runbook,
 * `POST /v1/runbooks/{name}/runs`, whose `params` is that runbook's parameters' JSON Schemas.
 * Every step is a normal run under the caller's token (scope, policy, blast radius per step).
 */
import type {FastifyReply, FastifyRequest} from 'fastify';
import {XiError} from '../errors.js';
import {safeJson} from '../output/visible.js';
import {dryRunSteps} from '../runbooks/dry-run.js';
import type {RunbookEvent} from '../runbooks/execute.js';
import {stageSteps, type Runbook} from '../runbooks/model.js';
import {planDocument} from '../runbooks/plan-document.js';
import {prepareRunbookRun, type PreparedRunbookRun, type RunbookPorts} from '../runbooks/prepare-runbook.js';
import {findRunbookRun, listRunbookRuns, runbookRunsDirectory} from '../runbooks/record-store.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {listRunbookFiles, readRunbookBytes} from '../runbooks/runbook-files.js';
import {runbookRunDocument, type RunbookRunRecord} from '../runbooks/run-record.js';
import {cancelRunbookRun} from '../runbooks/cancel-runbook.js';
import type {Caller} from './auth.js';
import type {ApiPorts, Handler} from './route-file.js';
import type {RouteSpec} from './route-spec.js';
import {errorSchema, type JsonSchema} from './schemas.js';

const errors = {'4xx': errorSchema, '5xx': errorSchema};
const name = {type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', maxLength: 64};
const id = {type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', maxLength: 64};
const anyObject: JsonSchema = {type: 'object'};
const runBody = (params: JsonSchema): JsonSchema => ({
	type: 'object',
	additionalProperties: false,
	properties: {
		params,
		dryRun: {type: 'boolean', default: false, description: 'Check the runbook and ask every host of every step whether it would run (the plan with each host\'s policy answer); nothing runs.'},
		wait: {type: 'boolean', default: true, description: 'false: answer 202 at once and follow GET /v1/runbook-runs/{id}/events.'},
		yes: {type: 'boolean', default: false, description: 'Confirm `confirm` scripts and go on after good canaries (no one can be asked over the API).'},
		noWait: {type: 'boolean', default: false, description: 'A step that needs two-person approval does not hold the run: it ends `waiting` (the run too, with the request\'s id on the step), and POST /v1/runbook-runs/{id}/resume continues it under the same request once approved.'},
	},
});
const genericParams: JsonSchema = {type: 'object', maxProperties: 64, description: 'The runbook\'s parameters by name (GET /openapi.json has each runbook\'s own schema).'};
const accepted: JsonSchema = {type: 'object', required: ['id', 'events', 'run'], properties: {id, events: {type: 'string'}, run: {type: 'string'}}};
const stepName = {type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$'};
const event = (type: string, properties: Record<string, JsonSchema>, optional: Record<string, JsonSchema> = {}): JsonSchema => ({type: 'object', required: ['type', ...Object.keys(properties)], properties: {type: {const: type}, ...properties, ...optional}});
const outcome: JsonSchema = {
	type: 'object',
	required: ['status', 'counts', 'hosts'],
	properties: {
		status: {enum: ['ok', 'failed', 'skipped', 'cancelled', 'error', 'waiting']},
		requestId: {type: 'string'},
		counts: {type: 'object', additionalProperties: {type: 'integer'}},
		hosts: {type: 'object', properties: {ok: {type: 'array', items: {type: 'string'}}, failed: {type: 'array', items: {type: 'string'}}}},
		reason: {type: 'string'},
		code: {type: 'string'},
	},
};
/** The `data` of one runbook run event (its `event` field repeats `type`). */
const runbookEventSchema: JsonSchema = {
	oneOf: [
		event('step-started', {step: stepName, requestId: id, script: {type: 'string'}, on: {type: 'array', items: {type: 'string'}}}),
		event('step-waiting', {step: stepName, requestId: id, approval: {type: 'object', required: ['id', 'needs', 'expiresAt'], properties: {id, needs: {type: 'string', description: 'Who must approve, in words.'}, expiresAt: {type: 'string', format: 'date-time'}}, description: 'The approval request the step waits for: `POST /v1/approvals/{id}/approve` with another operator\'s token.'}}),
		event('step-finished', {step: stepName, outcome}),
		event('runbook-finished', {status: {enum: ['ok', 'failed', 'cancelled', 'waiting']}, notRun: {type: 'array', items: {type: 'object', properties: {step: stepName, reason: {type: 'string'}}}}}, {reason: {type: 'string'}}),
	],
	description: 'The `data` of one Server-Sent Event; its `event` field repeats `type`.',
};

export const runbookRunsUrl = '/v1/runbooks/:name/runs';

export const runbookRoutes: readonly RouteSpec[] = [
	{
		method: 'GET', url: '/v1/runbooks', access: 'admin', operationId: 'listRunbooks', tag: 'runbooks',
		summary: 'The runbooks in the controller\'s home (runbooks/NAME.yaml), with their parameters',
		description: 'As `xi-exec runbook list --json`: each runbook\'s name, file, steps and parameters, or the problems of a file that is not valid.',
		schema: {response: {200: {type: 'object', required: ['runbooks'], properties: {runbooks: {type: 'array', items: anyObject}}}, ...errors}},
	},
	{
		method: 'POST', url: runbookRunsUrl, access: 'token', operationId: 'runRunbook', tag: 'runbooks',
		summary: 'Run a runbook (or dry-run it)',
		description: 'The runbook is checked whole against the fleet first: one RUNBOOK_INVALID error lists every problem, and nothing is dialled. Each step is then a normal run under the caller\'s token. Answers the run\'s record when it ends (the document of GET /v1/runbook-runs/{id}), 202 at once with `"wait": false`, or the plan with each host\'s policy answer with `"dryRun": true`.',
		schema: {params: {type: 'object', required: ['name'], properties: {name}}, body: runBody(genericParams), response: {200: anyObject, 202: accepted, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs', access: 'admin', operationId: 'listRunbookRuns', tag: 'runbooks',
		summary: 'Recent runbook runs, newest first',
		description: 'As `xi-exec runbooks --json`.',
		schema: {response: {200: {type: 'object', required: ['runs'], properties: {runs: {type: 'array', items: anyObject}}}, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs/:id', access: 'token', operationId: 'getRunbookRun', tag: 'runbooks',
		summary: 'One runbook run\'s record',
		description: 'The same document as `xi-exec runbooks show ID --json` and `xi-exec runbook run --json`: each step\'s status, counts, hosts and request id (GET /v1/runs/{id} has a step\'s output).',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: anyObject, ...errors}},
	},
	{
		method: 'GET', url: '/v1/runbook-runs/:id/events', access: 'token', operationId: 'runbookRunEvents', tag: 'runbooks', produces: 'text/event-stream',
		summary: 'A runbook run\'s step events as Server-Sent Events',
		description: '`step-started` (with the step\'s request id: GET /v1/runs/{id}/events streams its hosts), `step-waiting` (the step needs two-person approval: the approval request\'s id, who must approve and until when; sent before it waits, and for a step that ends `waiting` with `noWait`), `step-finished` (its outcome) and `runbook-finished`. A run going on in this server streams live; any other is replayed from its record.',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: runbookEventSchema, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runbook-runs/:id/cancel', access: 'token', operationId: 'cancelRunbookRun', tag: 'runbooks',
		summary: 'Cancel a runbook run: the step running is cancelled on every host, nothing runs after it',
		description: 'As `xi-exec runbook cancel ID`, for a run in this server or in any other process: `status` is `cancelling` (the process running it stops at the request), `cancelled` (no process ran it any more: its record now ends cancelled) or `{"ended": STATUS}` (it had ended: nothing done); `steps` names each step in flight and what its hosts answered. `resume` continues it from its first step not finished ok.',
		schema: {params: {type: 'object', required: ['id'], properties: {id}}, response: {200: anyObject, ...errors}},
	},
	{
		method: 'POST', url: '/v1/runbook-runs/:id/resume', access: 'token', operationId: 'resumeRunbookRun', tag: 'runbooks',
		summary: 'Resume a runbook run from its first step not finished ok (or `from`)',
		description: 'As `xi-exec runbook run --resume ID`: a new run carrying over the outcomes before the resume point. Refused when the file changed since (RUNBOOK_CHANGED) unless `changedFile`, and while the run is still running (RUNBOOK_RUNNING). Secret parameters are given again in `params`.',
		schema: {
			params: {type: 'object', required: ['id'], properties: {id}},
			body: {type: 'object', additionalProperties: false, properties: {from: name, changedFile: {type: 'boolean', default: false}, params: genericParams, wait: {type: 'boolean', default: true}, yes: {type: 'boolean', default: false}}},
			response: {200: anyObject, 202: accepted, ...errors},
		},
	},
];

type LiveRunbook = {events: RunbookEvent[]; listeners: Set<(event: RunbookEvent) => void>; cancel: AbortController; done: boolean};

export function createRunbookHandlers(ports: ApiPorts): Record<string, Handler> {
	const live = new Map<string, LiveRunbook>();
	const runbookPorts = (): RunbookPorts => ({
		paths: ports.paths,
		registry: ports.registry,
		audit: () => ports.audit,
		context: ports.clientContext,
		controllerSerial: ports.controllerSerial,
		now: ports.now,
		discover: async agents => ports.discovery.discover(agents, {maxAgeMs: ports.discoveryMaxAgeMs}),
	});
	const tokenOf = (caller: Caller) => {
		if (caller.kind !== 'token') {
			throw new XiError('INTERNAL', 'a token route was reached without a token');
		}

		return caller;
	};

	const start = async (prepared: PreparedRunbookRun, caller: Caller & {kind: 'token'}, body: {wait: boolean; yes: boolean; noWait?: boolean}, reply: FastifyReply) => {
		const run: LiveRunbook = {events: [], listeners: new Set(), cancel: new AbortController(), done: false};
		live.set(prepared.id, run);
		const onStop = () => run.cancel.abort();
		ports.stopping.addEventListener('abort', onStop, {once: true});
		const finished = prepared.start({
			cancel: run.cancel.signal,
			cancelledBy: `api:${caller.scope.name}`,
			yes: body.yes,
			...(body.noWait ? {noWait: true} : {}),
			emit(event) {
				run.events.push(event);
				for (const listener of run.listeners) {
					listener(event);
				}
			},
		}).finally(() => {
			run.done = true;
			ports.stopping.removeEventListener('abort', onStop);
			// Kept a little for late followers, then the record answers.
			setTimeout(() => live.delete(prepared.id), 60_000).unref();
		});
		ports.running.add(finished);
		void finished.finally(() => ports.running.delete(finished)).catch(() => undefined);
		if (!body.wait) {
			void finished.catch((error: unknown) => ports.log(`runbook run ${prepared.id}: ${(error as Error).message}`));
			return reply.code(202).send({id: prepared.id, events: `/v1/runbook-runs/${prepared.id}/events`, run: `/v1/runbook-runs/${prepared.id}`});
		}

		await finished;
		return documentOf(prepared.id);
	};

	const documentOf = (runId: string) => {
		const stored = findRunbookRun(runbookRunsDirectory(ports.paths), runId);
		return runbookRunDocument(stored.record, stored.running);
	};

	const own = (record: RunbookRunRecord, caller: Caller & {kind: 'token'}) => {
		// A scoped token reaches the runs made under it; a token whose scope is everything reaches all.
		const everything = caller.scope.scripts.includes('*') && caller.scope.on.includes('all');
		if (!everything && record.header.token?.id !== caller.scope.id) {
			throw new XiError('OUT_OF_SCOPE', `Refused: runbook run ${record.header.id} was not made under token ${caller.scope.name}.`);
		}
	};

	return {
		async listRunbooks() {
			return {runbooks: listRunbookFiles(ports.paths).map(file => {
				try {
					const bytes = readRunbookBytes(ports.paths, file.name);
					const read = readRunbook(file.name, bytes.text, bytes.format);
					return read.ok
						? {name: file.name, file: file.file, fileSha256: bytes.sha256, valid: true, description: read.runbook.description ?? null, parameters: read.runbook.parameters.map(parameter => ({name: parameter.name, schema: parameter.schema, secret: parameter.secret, ...(parameter.default === undefined ? {} : {default: parameter.default})})), steps: stepNames(read.runbook), problems: []}
						: {name: file.name, file: file.file, fileSha256: bytes.sha256, valid: false, problems: read.problems};
				} catch (error) {
					return {name: file.name, file: file.file, valid: false, problems: [(error as Error).message]};
				}
			})};
		},

		async runRunbook(request, reply, caller) {
			const token = tokenOf(caller);
			const body = request.body as {params?: Record<string, unknown>; dryRun: boolean; wait: boolean; yes: boolean; noWait: boolean};
			const prepared = await prepareRunbookRun(runbookPorts(), {name: (request.params as {name: string}).name, params: body.params ?? {}, caller: `api:${token.scope.name}`, source: request.ip, token: token.token});
			if (body.dryRun) {
				const policy = await dryRunSteps(runbookPorts(), prepared, {caller: `api:${token.scope.name}`, token: token.token});
				return planDocument({...prepared, policy});
			}

			return start(prepared, token, body, reply);
		},

		async listRunbookRuns() {
			return {runs: listRunbookRuns(runbookRunsDirectory(ports.paths)).map(stored => runbookRunDocument(stored.record, stored.running))};
		},

		async getRunbookRun(request, _reply, caller) {
			const stored = findRunbookRun(runbookRunsDirectory(ports.paths), (request.params as {id: string}).id);
			own(stored.record, tokenOf(caller));
			return runbookRunDocument(stored.record, stored.running);
		},

		async runbookRunEvents(request, reply, caller) {
			const runId = (request.params as {id: string}).id;
			const stored = findRunbookRun(runbookRunsDirectory(ports.paths), runId);
			own(stored.record, tokenOf(caller));
			streamRunbookEvents(request, reply, ports, live.get(runId), stored.record);
			return reply;
		},

		async cancelRunbookRun(request, _reply, caller) {
			const token = tokenOf(caller);
			const runId = (request.params as {id: string}).id;
			own(findRunbookRun(runbookRunsDirectory(ports.paths), runId).record, token);
			// A run of this server stops at once; one in another process stops at the request cancelRunbookRun appends to its record.
			const who = `api:${token.scope.name}`;
			const answer = await cancelRunbookRun({paths: ports.paths, registry: ports.registry, audit: () => ports.audit, context: ports.clientContext, now: ports.now}, {id: runId, caller: who, source: request.ip});
			return answer;
		},

		async resumeRunbookRun(request, reply, caller) {
			const token = tokenOf(caller);
			const runId = (request.params as {id: string}).id;
			own(findRunbookRun(runbookRunsDirectory(ports.paths), runId).record, token);
			const body = request.body as {from?: string; changedFile: boolean; params?: Record<string, unknown>; wait: boolean; yes: boolean; noWait: boolean};
			const prepared = await prepareRunbookRun(runbookPorts(), {params: body.params ?? {}, caller: `api:${token.scope.name}`, source: request.ip, token: token.token, resume: {id: runId, ...(body.from ? {from: body.from} : {}), changedFile: body.changedFile}});
			return start(prepared, token, body, reply);
		},
	};
}

function stepNames(runbook: Runbook): string[] {
	return [...runbook.stages.flatMap(stage => stageSteps(stage).map(step => step.name)), ...runbook.handlers.map(step => step.name)];
}

/** The step events of a record, as a finished (or interrupted) run replays them. */
export function replayRunbookRecord(record: RunbookRunRecord): RunbookEvent[] {
	const events: RunbookEvent[] = [];
	for (const step of record.steps) {
		if (step.requestId && !step.carriedFrom) {
			events.push({type: 'step-started', step: step.name, requestId: step.requestId, script: '', on: []});
		}

		if (step.approval && step.requestId) {
			events.push({type: 'step-waiting', step: step.name, requestId: step.requestId, approval: step.approval});
		}

		if (step.outcome) {
			events.push({type: 'step-finished', step: step.name, outcome: step.outcome});
		}
	}

	if (record.end) {
		events.push({type: 'runbook-finished', status: record.end.status, ...(record.end.reason ? {reason: record.end.reason} : {}), notRun: record.end.notRun});
	}

	return events;
}

function streamRunbookEvents(request: FastifyRequest, reply: FastifyReply, ports: ApiPorts, run: LiveRunbook | undefined, record: RunbookRunRecord): void {
	reply.hijack();
	const response = reply.raw;
	response.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...ports.extraHeaders(request)});
	let sent = 0;
	const send = (event: RunbookEvent) => {
		// Per step: a step's hosts stream from GET /v1/runs/{requestId}/events.
		if (event.type === 'step-event') {
			return;
		}

		response.write(`id: ${sent++}\nevent: ${event.type}\ndata: ${safeJson(event)}\n\n`);
		if (event.type === 'runbook-finished') {
			response.end();
		}
	};

	if (!run) {
		for (const event of replayRunbookRecord(record)) {
			send(event);
		}

		response.end();
		return;
	}

	for (const event of run.events) {
		send(event);
	}

	if (run.done) {
		response.end();
		return;
	}

	run.listeners.add(send);
	request.raw.on('close', () => run.listeners.delete(send));
}

/** One operation per runbook for /openapi.json: `POST /v1/runbooks/{name}/runs` with that runbook's parameters as the body's `params`. */
export function runbookOperations(paths: ApiPorts['paths']): Record<string, Record<string, unknown>> {
	const operations: Record<string, Record<string, unknown>> = {};
	for (const file of listRunbookFiles(paths)) {
		let runbook: Runbook;
		try {
			const bytes = readRunbookBytes(paths, file.name);
			const read = readRunbook(file.name, bytes.text, bytes.format);
			if (!read.ok) {
				continue;
			}

			runbook = read.runbook;
		} catch {
			continue;
		}

		const params: JsonSchema = {
			type: 'object',
			additionalProperties: false,
			properties: Object.fromEntries(runbook.parameters.map(parameter => [parameter.name, {...parameter.schema, ...(parameter.description ? {description: parameter.description} : {}), ...(parameter.default === undefined ? {} : {default: parameter.default}), ...(parameter.secret ? {writeOnly: true} : {})}])),
			required: runbook.parameters.filter(parameter => parameter.default === undefined).map(parameter => parameter.name),
		};
		operations[`/v1/runbooks/${runbook.name}/runs`] = {
			post: {
				operationId: `runRunbook_${runbook.name.replaceAll(/[^a-z0-9]/g, '_')}`,
				summary: runbook.description ?? `Run runbook ${runbook.name}`,
				description: `Runs the steps ${stepNames(runbook).join(', ')} of runbooks/${file.file.replace(/^runbooks\//, '')}, each a normal run under the caller's token. Answers as POST /v1/runbooks/{name}/runs.`,
				tags: ['runbooks'],
				requestBody: {required: true, content: {'application/json': {schema: runBody(params)}}},
				responses: {
					200: {description: 'The run\'s record', content: {'application/json': {schema: anyObject}}},
					202: {description: 'Accepted: follow its events', content: {'application/json': {schema: accepted}}},
					400: {description: 'The runbook or its parameters are refused (RUNBOOK_INVALID lists every problem)', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
					401: {description: 'No valid bearer token', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
					403: {description: 'A step reaches outside the token\'s scope', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
				},
			},
		};
	}

	return operations;
}
