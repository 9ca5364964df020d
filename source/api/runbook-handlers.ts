/**
 * The handlers of the runbook routes (runbook-routes.ts): each calls the runbooks' use cases
 * (prepare, dry run, the record store, cancel) under the caller's token and answers data. The runs
 * this server is running are kept in `live` a little after they end, for late followers of their events.
 */
import type {FastifyReply} from 'fastify';
import {XiError} from '../errors.js';
import {dryRunSteps} from '../runbooks/dry-run.js';
import {planDocument} from '../runbooks/plan-document.js';
import {prepareRunbookRun, type PreparedRunbookRun, type RunbookPorts} from '../runbooks/prepare-runbook.js';
import {findRunbookRun, listRunbookRuns, runbookRunsDirectory} from '../runbooks/record-store.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {listRunbookFiles, readRunbookBytes} from '../runbooks/runbook-files.js';
import {runbookRunDocument, type RunbookRunRecord} from '../runbooks/run-record.js';
import {cancelRunbookRun} from '../runbooks/cancel-runbook.js';
import type {Caller} from './auth.js';
import type {ApiPorts, Handler} from './route-file.js';
import {streamRunbookEvents, type LiveRunbook} from './runbook-event-stream.js';
import {stepNames} from './runbook-operations.js';

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

	const own = (record: RunbookRunRecord, caller: Caller & {kind: 'token'}) => {
		// A scoped token reaches the runs made under it; a token whose scope is everything reaches all.
		const everything = caller.scope.scripts.includes('*') && caller.scope.on.includes('all');
		if (!everything && record.header.token?.id !== caller.scope.id) {
			throw new XiError('OUT_OF_SCOPE', `Refused: runbook run ${record.header.id} was not made under token ${caller.scope.name}.`);
		}
	};

	return {
		async listRunbooks() {
			return {runbooks: listRunbookFiles(ports.paths).map(file => runbookListEntry(ports.paths, file))};
		},

		async runRunbook(request, reply, caller) {
			const token = tokenOf(caller);
			const body = request.body as {params?: Record<string, unknown>; dryRun: boolean; wait: boolean; yes: boolean; noWait: boolean};
			const prepared = await prepareRunbookRun(runbookPorts(), {name: (request.params as {name: string}).name, params: body.params ?? {}, caller: `api:${token.scope.name}`, source: request.ip, token: token.token});
			if (body.dryRun) {
				const policy = await dryRunSteps(runbookPorts(), prepared, {caller: `api:${token.scope.name}`, token: token.token});
				return planDocument({...prepared, policy});
			}

			return startRunbook(ports, live, prepared, token, body, reply);
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
			return startRunbook(ports, live, prepared, token, body, reply);
		},
	};
}


/** Starts a prepared run in this server: answers 202 at once (`wait: false`), or its record when it ends. */
async function startRunbook(ports: ApiPorts, live: Map<string, LiveRunbook>, prepared: PreparedRunbookRun, caller: Caller & {kind: 'token'}, body: {wait: boolean; yes: boolean; noWait?: boolean}, reply: FastifyReply) {
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
	const stored = findRunbookRun(runbookRunsDirectory(ports.paths), prepared.id);
	return runbookRunDocument(stored.record, stored.running);
}

/** A runbook file as GET /v1/runbooks lists it: its parameters and steps, or the problems of a file that is not valid. */
function runbookListEntry(paths: ApiPorts['paths'], file: {name: string; file: string}) {
	try {
		const bytes = readRunbookBytes(paths, file.name);
		const read = readRunbook(file.name, bytes.text, bytes.format);
		return read.ok
			? {name: file.name, file: file.file, fileSha256: bytes.sha256, valid: true, description: read.runbook.description ?? null, parameters: read.runbook.parameters.map(parameter => ({name: parameter.name, schema: parameter.schema, secret: parameter.secret, ...(parameter.default === undefined ? {} : {default: parameter.default})})), steps: stepNames(read.runbook), problems: []}
			: {name: file.name, file: file.file, fileSha256: bytes.sha256, valid: false, problems: read.problems};
	} catch (error) {
		return {name: file.name, file: file.file, valid: false, problems: [(error as Error).message]};
	}
}
