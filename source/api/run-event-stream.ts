/**
 * GET /v1/runs/{id}/events as Server-Sent Events: a live run's events so far and then each new
 * one, or a stored run's replay from its history lines, from after the client's Last-Event-ID.
 */
import {readdirSync} from 'node:fs';
import {basename, join} from 'node:path';
import type {FastifyReply, FastifyRequest} from 'fastify';
import {historyDirectory} from '../history/run-store.js';
import {readLines} from '../history/read-lines.js';
import type {RunEvent} from '../run/events.js';
import {XiError, type ErrorCode} from '../errors.js';
import type {ApiPorts} from './route-file.js';
import {followRunEvents} from './run-follow.js';
import {createReplay} from './run-replay.js';
import {formatSse, type EventPosition} from './run-events.js';

/** A stored run's history file (`runs/<started>_<requestId>.jsonl`), or undefined. */
export function findRunFile(directory: string, requestId: string): string | undefined {
	let names: string[];
	try {
		names = readdirSync(directory);
	} catch {
		return undefined;
	}

	const name = names.find(file => file.endsWith(`_${requestId}.jsonl`));
	return name ? join(directory, name) : undefined;
}

/**
 * A stored run's script and targets, from its first line; undefined when it was removed (pruned)
 * since it was found. A file that is there but cannot be read is an error that says why.
 */
export function replayHeader(path: string): {script: string; targets: string[]} | undefined {
	try {
		for (const line of readLines(path)) {
			const first = createReplay()(line);
			return first?.type === 'run-started' ? {script: first.script, targets: first.targets} : undefined;
		}
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code ?? 'error';
		if (code !== 'ENOENT') {
			throw new XiError('CONFIG_INVALID', `The run's history file could not be read (${code}), so it cannot be replayed. ${unopenedAdvice(code, path)}`, {cause: error});
		}
	}

	return undefined;
}

/** What to do about a stored run's history file (`path`) that could not be opened or read, by its error code. */
function unopenedAdvice(code: string, path: string): string {
	if (code === 'EMFILE' || code === 'ENFILE') {
		return 'The controller has too many files open: follow again in a moment.';
	}

	return code === 'ENOENT'
		? 'It was removed (pruned) since: nothing can replay the run any more.'
		: `Once the controller can read runs/${basename(path)} in its home (its owner and mode, its disk), follow again.`;
}

const heartbeatMs = 15_000;

/**
 * Writes the run's events as Server-Sent Events: a live run's events so far and then each new
 * one, or a stored run's replay (`stored`: its history file); the stream ends after
 * `run-finished` (or the replay's end). With `last` (the client's Last-Event-ID), only the events
 * after that one. Memory is bounded whatever the run's size (run-follow.ts).
 */
export function streamEvents(request: FastifyRequest, reply: FastifyReply, ports: ApiPorts, requestId: string, stored: string | undefined, last: EventPosition | undefined): void {
	reply.hijack();
	const response = reply.raw;
	response.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-store',
		'x-content-type-options': 'nosniff',
		...ports.extraHeaders(request),
	});
	const closed = new AbortController();
	const end = () => {
		if (!closed.signal.aborted) {
			closed.abort();
			clearInterval(heartbeat);
			response.end();
		}
	};

	// The last event of a stream that ends early: the error answers' shape.
	const fail = (code: ErrorCode, message: string) => {
		if (!closed.signal.aborted) {
			response.write(`event: error\ndata: ${JSON.stringify({error: {code, message}})}\n\n`);
			end();
		}
	};

	const send = (event: RunEvent, id: string): boolean => {
		if (closed.signal.aborted) {
			return false;
		}

		const problem = ports.checkEvent(event);
		if (problem) {
			ports.log(`run ${requestId}: an event breaks the published RunEvent schema: ${problem}`);
			fail('INTERNAL', 'an event could not be sent');
			return false;
		}

		response.write(formatSse(event, id));
		return true;
	};

	const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), ports.heartbeatMs ?? heartbeatMs);
	heartbeat.unref();
	response.on('close', end);
	const drained = () => new Promise<void>(resolve => {
		if (closed.signal.aborted || !response.writableNeedDrain) {
			resolve();
			return;
		}

		const done = () => {
			response.off('drain', done);
			closed.signal.removeEventListener('abort', done);
			resolve();
		};

		response.on('drain', done);
		closed.signal.addEventListener('abort', done);
	});
	const directory = historyDirectory(ports.paths);
	// A live follower that cannot catch up from the history (it cannot be opened) is told so, as the stream's last event.
	void followRunEvents({
		file: () => stored ?? findRunFile(directory, requestId),
		...(stored ? {} : {follow: listener => ports.live.follow(requestId, listener)}),
		...(last ? {last} : {}),
		closed: closed.signal,
	}, {send, unread: () => response.writableLength, drained}).then(gap => {
		if (gap?.missed === undefined && gap) {
			// A replay (a stored run, or one that ended meanwhile) whose history file could not be opened: it has sent nothing.
			const path = stored ?? findRunFile(directory, requestId) ?? `…_${requestId}.jsonl`;
			ports.log(`run ${requestId}: a replay sent nothing: the history file ${path} ${gap.why}`);
			fail('CONFIG_INVALID', `This stream cannot replay run ${requestId}: its history file ${gap.why}. ${unopenedAdvice(gap.code ?? 'error', path)}`);
		} else if (gap) {
			ports.log(`run ${requestId}: a follower's catch-up stopped, ${gap.missed} event(s) short: the history file ${gap.why}`);
			// Not found: removed while the run goes on (pruned by hand), so the run's own answer, which reads the same file, is gone too.
			const gone = gap.why === 'was not found' || gap.why.includes('ENOENT');
			const next = gone
				? `Nothing can replay what it had (GET /v1/runs/${requestId} reads the same file); the run itself goes on, and the controller's audit log records each host's outcome.`
				: `GET /v1/runs/${requestId} gives every host's result and output once the run ends; or follow again.`;
			fail('CONFIG_INVALID', `This stream cannot send the events the run has had so far: its history file ${gap.why}. ${next}`);
		}
	}, (error: unknown) => {
		ports.log(`run ${requestId}: the event stream failed: ${(error as Error).message}`);
		// A history file that could not be read on (EIO, a file that is not one): said as the stream's last event, not ended as if the run had.
		const code = (error as NodeJS.ErrnoException).code;
		const path = stored ?? findRunFile(directory, requestId) ?? `…_${requestId}.jsonl`;
		fail(code ? 'CONFIG_INVALID' : 'INTERNAL', code ? `This stream stopped: the run's history file could not be read (${code}). ${unopenedAdvice(code, path)}` : 'the event stream failed');
	}).finally(end);
}
