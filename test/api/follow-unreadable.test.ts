/**
 * A client that joins a live run whose history file cannot be read (pruned here; EMFILE under
 * many clients alike) is not streamed the rest of the run as if nothing came before: its stream
 * is one `error` event, in the shape of the error answers, saying what happened and what to do.
 * Before, it went live silently and missed the run's first output. The replay of a finished run
 * alike: a history file found but not opened (EMFILE, EACCES) ends the stream with one `error`
 * event (before, the stream ended with no event at all, as an empty run); one whose first line
 * cannot be read (so the caller's scope cannot be checked) is an error answer saying why (before,
 * 404 "No run").
 */
import {mkdirSync, readFileSync, unlinkSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {Writable} from 'node:stream';
import type {FastifyReply, FastifyRequest} from 'fastify';
import test from 'ava';
import {findRunFile, streamEvents} from '../../source/api/run-event-stream.js';
import type {ApiPorts} from '../../source/api/route-file.js';
import {createLiveRuns} from '../../source/api/run-events.js';
import {historyDirectory} from '../../source/history/run-store.js';
import {call, createToken, eventually, followEvents, startApiFleet, type ApiFleet} from './api-fleet.js';

let fleet: ApiFleet;
let admin: string;

test.before(async () => {
	fleet = await startApiFleet([{name: 'web1', scripts: {slow: {body: '#!/bin/sh\necho first\nsleep 60\necho done\n', description: 'Prints, then waits'}}}]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

test('a late follower of a live run whose history file cannot be opened gets one error event and no events with a gap', async t => {
	const accepted = await call({port: fleet.port, ca: fleet.ca}, 'POST', '/v1/runs', {token: admin, body: {script: 'slow', args: [], on: ['web1'], wait: false}});
	const {requestId} = accepted.json() as {requestId: string};
	t.teardown(async () => {
		await call({port: fleet.port, ca: fleet.ca}, 'POST', `/v1/runs/${requestId}/cancel`, {token: admin});
	});
	const file = await eventually(async () => {
		const path = findRunFile(historyDirectory(fleet.paths), requestId);
		return path && readFileSync(path, 'utf8').includes('first\\n') ? path : undefined;
	}, 'the run\'s first output in its history');
	unlinkSync(file);
	const stream = await followEvents({port: fleet.port, ca: fleet.ca}, `/v1/runs/${requestId}/events`, admin, () => 'stop');
	t.is(stream.status, 200);
	t.deepEqual(stream.messages.map(message => message.event), ['error']);
	const {error} = JSON.parse(stream.messages[0]!.data) as {error: {code: string; message: string}};
	t.is(error.code, 'CONFIG_INVALID');
	t.is(error.message, `This stream cannot send the events the run has had so far: its history file was not found. Nothing can replay what it had (GET /v1/runs/${requestId} reads the same file); the run itself goes on, and the controller's audit log records each host's outcome.`);
});

/** streamEvents over a stored run's file `stored`, written to a plain stream: what the client was sent, and the server's log. */
async function replayStream(stored: string, requestId: string): Promise<{text: string; log: string[]}> {
	let text = '';
	const log: string[] = [];
	const raw = Object.assign(new Writable({
		write(chunk: Buffer, _encoding, callback) {
			text += chunk.toString();
			callback();
		},
	}), {writeHead: () => undefined});
	const ended = new Promise(resolve => raw.on('finish', resolve));
	const ports = {extraHeaders: () => ({}), checkEvent: () => undefined, log: (line: string) => log.push(line), paths: fleet.paths, live: createLiveRuns()} as unknown as ApiPorts;
	streamEvents({} as FastifyRequest, {hijack: () => undefined, raw} as unknown as FastifyReply, ports, requestId, stored, undefined);
	await ended;
	return {text, log};
}

test('the replay of a finished run whose history file is found but cannot be opened ends with one error event saying why and what to do, not with no events', async t => {
	const requestId = '00000000-0000-4000-8000-0000000000dd';
	const directory = historyDirectory(fleet.paths);
	mkdirSync(directory, {recursive: true});
	// A socket where the file is: found by name, but open(2) fails (ENXIO), as EMFILE or EACCES would.
	const socket = join(directory, `2026-01-01T00-00-00.000Z_${requestId}.jsonl`);
	const server = createServer();
	await new Promise<void>(resolve => {
		server.listen(socket, resolve);
	});
	t.teardown(() => server.close());
	const {text, log} = await replayStream(socket, requestId);
	const message = `This stream cannot replay run ${requestId}: its history file could not be opened (ENXIO). Once the controller can read runs/2026-01-01T00-00-00.000Z_${requestId}.jsonl in its home (its owner and mode, its disk), follow again.`;
	t.is(text, `event: error\ndata: ${JSON.stringify({error: {code: 'CONFIG_INVALID', message}})}\n\n`);
	t.deepEqual(log, [`run ${requestId}: a replay sent nothing: the history file ${socket} could not be opened (ENXIO)`]);
	const pruned = await replayStream(join(directory, `2026-01-01T00-00-00.000Z_${requestId}-gone.jsonl`), requestId);
	t.true(pruned.text.includes('could not be opened (ENOENT). It was removed (pruned) since: nothing can replay the run any more.'), pruned.text);
});

test('a finished run whose history file cannot be read at all is an error answer saying why, not 404 "No run"', async t => {
	const requestId = '00000000-0000-4000-8000-0000000000ee';
	const directory = historyDirectory(fleet.paths);
	mkdirSync(directory, {recursive: true});
	// A directory where the file is: opened, but read(2) fails (EISDIR), as EIO would; its first line (the run's targets) cannot be read, so neither can the caller's scope be checked.
	mkdirSync(join(directory, `2026-01-01T00-00-00.000Z_${requestId}.jsonl`));
	const answer = await call({port: fleet.port, ca: fleet.ca}, 'GET', `/v1/runs/${requestId}/events`, {token: admin});
	t.is(answer.status, 500);
	t.deepEqual(answer.json(), {error: {code: 'CONFIG_INVALID', message: `The run's history file could not be read (EISDIR), so it cannot be replayed. Once the controller can read runs/2026-01-01T00-00-00.000Z_${requestId}.jsonl in its home (its owner and mode, its disk), follow again.`}});
});

test('a replay whose history file opens but cannot be read (a read error: EIO, not a file) ends with one error event saying so, not as if the run had ended', async t => {
	const requestId = '00000000-0000-4000-8000-0000000000ff';
	const directory = historyDirectory(fleet.paths);
	mkdirSync(directory, {recursive: true});
	// A directory where the file is: it opens, and its first read fails (EISDIR), as EIO would.
	const path = join(directory, `2026-01-01T00-00-00.000Z_${requestId}.jsonl`);
	mkdirSync(path);
	const {text, log} = await replayStream(path, requestId);
	const message = `This stream stopped: the run's history file could not be read (EISDIR). Once the controller can read runs/2026-01-01T00-00-00.000Z_${requestId}.jsonl in its home (its owner and mode, its disk), follow again.`;
	t.is(text, `event: error\ndata: ${JSON.stringify({error: {code: 'CONFIG_INVALID', message}})}\n\n`);
	t.is(log.length, 1);
	t.regex(log[0]!, new RegExp(`^run ${requestId}: the event stream failed: EISDIR`));
});
