/**
 * GET /v1/runs/{id}/events as Server-Sent Events: a live run's events so far and then each new
 * one, or a stored run's replay from its history lines, from after the client's Last-Event-ID.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import type {FastifyReply, FastifyRequest} from 'fastify';
import {historyDirectory} from '../history/run-store.js';
import type {RunEvent} from '../run/events.js';
import type {ApiPorts} from './route-file.js';
import {createEventNumbering, formatSse, isAfter, replayHistory, type EventPosition, type LiveFollow, type TransientEvent} from './run-events.js';

/** A stored run's history lines (`runs/<started>_<requestId>.jsonl`), or undefined. */
export function readRunLines(directory: string, requestId: string): string[] | undefined {
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

export function replayHeader(lines: readonly string[]): {script: string; targets: string[]} | undefined {
	const [first] = replayHistory(lines.slice(0, 1));
	return first?.type === 'run-started' ? {script: first.script, targets: first.targets} : undefined;
}

const heartbeatMs = 15_000;

/**
 * Writes the run's events as Server-Sent Events: a live run's events so far and then each new
 * one, or a stored run's replay; the stream ends after `run-finished` (or the replay's end).
 * With `last` (the client's Last-Event-ID), only the events after that one.
 */
export function streamEvents(request: FastifyRequest, reply: FastifyReply, ports: ApiPorts, requestId: string, stored: string[] | undefined, last: EventPosition | undefined): void {
	reply.hijack();
	const response = reply.raw;
	response.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-store',
		'x-content-type-options': 'nosniff',
		...ports.extraHeaders(request),
	});
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

	const send = (event: RunEvent, id: string, position: EventPosition) => {
		if (ended) {
			return;
		}

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
	// The past is in the history (a live run's too: each event is written there before it reaches
	// the hub, so its first `kept` events are exactly those sent so far); a live run that ended
	// between the look-up and now is in the history by now.
	const replay = stored ?? readRunLines(historyDirectory(ports.paths), requestId);
	const past = live ? livePast(replay, live) : numbered(replay ? replayHistory(replay) : []);
	for (const {event, id, position} of past) {
		send(event, id, position);
	}

	// A stored run that never ended (the controller stopped mid-run) has nothing more to say.
	if (!live) {
		end();
	}
}

function numbered(events: readonly RunEvent[]): TransientEvent[] {
	const number = createEventNumbering();
	return events.map(event => ({event, ...number(event)}));
}

/**
 * A live run's events so far: those the history keeps read from it (only run-started before the
 * history file exists), each followed by the transient ones the hub kept after it.
 */
function livePast(lines: readonly string[] | undefined, live: LiveFollow): TransientEvent[] {
	const fromHistory = lines ? replayHistory(lines).slice(0, live.kept) : [];
	const kept = fromHistory.length === 0 && live.started ? [live.started] : fromHistory;
	const after = new Map<number, TransientEvent[]>();
	for (const item of live.transient) {
		const group = after.get(item.position.kept) ?? [];
		group.push(item);
		after.set(item.position.kept, group);
	}

	return numbered(kept).flatMap((item, index) => [item, ...(after.get(index) ?? [])]);
}
