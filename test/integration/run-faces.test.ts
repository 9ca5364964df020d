/**
 * One run, seen through every face over real agents (web1's policy hook allows, web2's denies):
 * - `xi-exec run --json`, `runs show --json`, the REST API's run answer, its stored run and its
 *   event stream all carry the run's own time (`startedAt`, `endedAt`, `durationMs`) beside each
 *   host's, and agree on it;
 * - a dry run answers one document, whether asked with `run --dry-run --json`, POST /v1/runs
 *   `"dryRun": true`, or an MCP script tool's `dryRun` (the SDK's Client, over stdio and HTTP).
 */
import test from 'ava';
import {call, createToken, followEvents, startApiFleet, type ApiFleet} from '../api/api-fleet.js';
import {controllerCli, runCli} from '../helpers/fleet.js';
import {connect} from '../mcp/mcp-fleet.js';

type RunDocument = {requestId: string; startedAt: string; endedAt: string; durationMs: number; results: Array<{agent: string; status: string; durationMs: number}>};

let fleet: ApiFleet;
let token: string;

test.before(async () => {
	const hello = {body: '#!/bin/sh\necho "hello $1"\n', description: 'Say hello'};
	const policy = (effect: string, name: string) => ({rules: [{name, effect, callers: ['*'], scripts: ['hello']}]});
	fleet = await startApiFleet([
		{name: 'web1', scripts: {hello}, policy: policy('allow', 'say hello')},
		{name: 'web2', scripts: {hello}, policy: policy('deny', 'quiet here')},
	]);
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
	t.deepEqual(document.results.map(result => result.status), ['ok', 'denied'], face);
}

test.serial('run --json and runs show --json carry the run\'s own time, the same instants', async t => {
	const before = Date.now();
	const ran = await runCli(controllerCli, ['run', 'hello', '--on', 'all', '--json', '--', 'you'], {XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: ''});
	const after = Date.now();
	t.is(ran.code, 1, ran.stderr);
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

test.serial('a dry run is one document whichever face asks: CLI, REST API, MCP over stdio and HTTP', async t => {
	const expected = (requestId: string) => ({
		requestId,
		script: 'hello',
		args: ['dry'],
		dryRun: true,
		targets: [
			{agent: 'web1', wouldRun: true, status: 'ok', reason: 'allowed by rule "say hello"'},
			{agent: 'web2', wouldRun: false, status: 'denied', reason: 'denied by rule "quiet here"'},
		],
	});
	const cli = await runCli(controllerCli, ['run', 'hello', '--on', 'all', '--dry-run', '--json', '--', 'dry'], {XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: ''});
	const printed = JSON.parse(cli.stdout) as {requestId: string};
	t.deepEqual(printed, expected(printed.requestId), 'run --dry-run --json');

	const api = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', on: ['all'], args: ['dry'], dryRun: true}});
	t.is(api.status, 200, api.text);
	t.deepEqual(api.json(), expected((api.json() as {requestId: string}).requestId), 'POST /v1/runs with "dryRun": true');

	for (const transport of ['stdio', 'http'] as const) {
		const session = await connect(fleet, token, transport);
		try {
			const tools = await session.client.listTools();
			const tool = tools.tools.find(entry => entry.title === 'hello');
			const answer = await session.client.callTool({name: tool!.name, arguments: {on: ['all'], args: ['dry'], dryRun: true}}) as unknown as {isError?: boolean; structuredContent: {requestId: string}; content: Array<{text: string}>};
			t.deepEqual(answer.structuredContent, expected(answer.structuredContent.requestId), `MCP over ${transport}`);
			t.is(answer.isError, undefined, 'a dry run that answers is not an error');
			t.is(answer.content[0]!.text, `Dry run of hello: 1 would run, 1 would not (nothing ran). Request ${answer.structuredContent.requestId}.\nweb2: would not run: denied by rule "quiet here"`);
		} finally {
			await session.close();
		}
	}
});
