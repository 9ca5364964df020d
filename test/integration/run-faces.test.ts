/**
 * One run, seen through every face over real agents: `xi-exec run --json`, `runs show --json`, the
 * REST API's run answer, its stored run and its event stream all carry the run's own time
 * (`startedAt`, `endedAt`, `durationMs`) beside each host's, and agree on it.
 */
import test from 'ava';
import {call, createToken, followEvents, startApiFleet, type ApiFleet} from '../api/api-fleet.js';
import {controllerCli, runCli} from '../helpers/fleet.js';

type RunDocument = {requestId: string; startedAt: string; endedAt: string; durationMs: number; results: Array<{agent: string; durationMs: number}>};

let fleet: ApiFleet;
let token: string;

test.before(async () => {
	const hello = {body: '#!/bin/sh\necho "hello $1"\n', description: 'Say hello'};
	fleet = await startApiFleet([{name: 'web1', scripts: {hello}}, {name: 'web2', scripts: {hello}}]);
	({token} = await createToken(fleet.paths, 'faces', ['hello'], ['all']));
});

test.after.always(async () => {
	await fleet?.close();
});

const documentKeys = ['requestId', 'script', 'args', 'startedAt', 'results', 'endedAt', 'durationMs'];

/** The run's time is inside the caller's own window, and durationMs is exactly endedAt − startedAt. */
function checkTimes(t: import('ava').ExecutionContext, document: RunDocument, before: number, after: number, face: string): void {
	const started = Date.parse(document.startedAt);
	const ended = Date.parse(document.endedAt);
	t.true(before <= started && started <= ended && ended <= after, `${face}: ${before} ≤ ${started} ≤ ${ended} ≤ ${after}`);
	t.is(document.durationMs, ended - started, face);
	t.is(new Date(started).toISOString(), document.startedAt, `${face}: ISO 8601 in UTC`);
	t.deepEqual(document.results.map(result => [result.agent, typeof result.durationMs]), [['web1', 'number'], ['web2', 'number']], `${face}: each host keeps its own`);
}

test.serial('run --json and runs show --json carry the run\'s own time, the same instants', async t => {
	const before = Date.now();
	const ran = await runCli(controllerCli, ['run', 'hello', '--on', 'all', '--json', '--', 'you'], {XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: ''});
	const after = Date.now();
	t.is(ran.code, 0, ran.stderr);
	const printed = JSON.parse(ran.stdout) as RunDocument;
	t.deepEqual(Object.keys(printed), documentKeys);
	printed.results.sort((a, b) => a.agent.localeCompare(b.agent));
	checkTimes(t, printed, before, after, 'run --json');

	const shown = await runCli(controllerCli, ['runs', 'show', printed.requestId, '--json'], {XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: ''});
	t.is(shown.code, 0, shown.stderr);
	const stored = JSON.parse(shown.stdout) as RunDocument;
	t.deepEqual(Object.keys(stored), documentKeys);
	t.deepEqual([stored.startedAt, stored.endedAt, stored.durationMs], [printed.startedAt, printed.endedAt, printed.durationMs]);
});

test.serial('the REST API\'s run answer, stored run and events carry the same time', async t => {
	const before = Date.now();
	const answer = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', on: ['all'], args: ['api']}});
	const after = Date.now();
	t.is(answer.status, 200, answer.text);
	const answered = answer.json() as RunDocument;
	t.deepEqual(Object.keys(answered), documentKeys);
	answered.results.sort((a, b) => a.agent.localeCompare(b.agent));
	checkTimes(t, answered, before, after, 'POST /v1/runs');

	const stored = (await call(fleet, 'GET', `/v1/runs/${answered.requestId}`, {token})).json() as RunDocument;
	t.deepEqual([stored.startedAt, stored.endedAt, stored.durationMs], [answered.startedAt, answered.endedAt, answered.durationMs]);

	const events = await followEvents(fleet, `/v1/runs/${answered.requestId}/events`, token);
	const data = events.messages.map(message => JSON.parse(message.data) as {type: string; startedAt?: string; endedAt?: string; durationMs?: number});
	t.is(data.find(event => event.type === 'run-started')?.startedAt, answered.startedAt);
	const finished = data.find(event => event.type === 'run-finished');
	t.deepEqual([finished?.endedAt, finished?.durationMs], [answered.endedAt, answered.durationMs]);
});
