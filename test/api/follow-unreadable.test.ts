/**
 * A client that joins a live run whose history file cannot be read (pruned here; EMFILE under
 * many clients alike) is not streamed the rest of the run as if nothing came before: its stream
 * is one `error` event, in the shape of the error answers, saying what happened and what to do.
 * Before, it went live silently and missed the run's first output.
 */
import {readFileSync, unlinkSync} from 'node:fs';
import test from 'ava';
import {findRunFile} from '../../source/api/run-event-stream.js';
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
