/**
 * GET /v1/runbook-runs/{id}/events: a run going on in this server streams live (what it sent so
 * far, then each event); any other is replayed from its record (replayRunbookRecord, pure). Per
 * step only: a step's hosts stream from GET /v1/runs/{requestId}/events.
 */
import type {FastifyReply, FastifyRequest} from 'fastify';
import {safeJson} from '../output/visible.js';
import type {RunbookEvent} from '../runbooks/execute.js';
import type {RunbookRunRecord} from '../runbooks/run-record.js';
import type {ApiPorts} from './route-file.js';

/** A runbook run of this server: its events so far, who follows it, how to cancel it, whether it ended. */
export type LiveRunbook = {events: RunbookEvent[]; listeners: Set<(event: RunbookEvent) => void>; cancel: AbortController; done: boolean};

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

export function streamRunbookEvents(request: FastifyRequest, reply: FastifyReply, ports: ApiPorts, run: LiveRunbook | undefined, record: RunbookRunRecord): void {
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
