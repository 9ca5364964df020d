/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * Run control through the REST API, over a real HTTPS server in front of real agent processes:
 * the CLI's rollout options (batch, threshold, canary with an explicit decision, timeouts), cancel
 * (of a run this server runs, and of one the CLI runs), the history as the same documents as
 * `xi-exec runs --json` / `runs show --json`, the caller's address in the audit trail, and event
 * streams resumed with Last-Event-ID from the live run or the history.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerCli, runCli, spawnCli, temporaryDirectory} from '../helpers/fleet.js';
import {call, createToken, eventually, followEvents, startApiFleet, type ApiFleet, type SseMessage} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};
const ok = {body: '#!/bin/sh\necho fine\n', description: 'Fails on a1 only'};
const failing = {body: '#!/bin/sh\necho broken >&2\nexit 3\n', description: 'Fails on a1 only'};
// Prints its pid, then waits until the file named by its argument exists.
const waiter = {body: '#!/bin/sh\necho "pid $$"\necho first\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho second\n', description: 'Print, wait for a file, print'};

// Ends at once on a1; waits on the others until the file named by its argument exists.
const staged = {body: '#!/bin/sh\necho "done at once"\n', description: 'Ends at once on a1, waits elsewhere'};

let fleet: ApiFleet;
let admin: string;
let a3Only: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'a1', tags: ['role=app'], scripts: {hello, waiter, staged, flaky: failing, careful: {...hello, confirm: true}, wide: {...hello, maxTargets: 2}}},
		{name: 'a2', tags: ['role=app'], scripts: {hello, waiter, staged: {...waiter, description: staged.description}, flaky: ok, careful: {...hello, confirm: true}, wide: {...hello, maxTargets: 2}}},
		{name: 'a3', tags: ['role=app'], scripts: {hello, waiter, staged: {...waiter, description: staged.description}, flaky: ok, careful: {...hello, confirm: true}, wide: {...hello, maxTargets: 2}}},
	]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	a3Only = (await createToken(fleet.paths, 'a3-only', ['hello', 'waiter'], ['a3'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

const xiExec = async (...args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: fleet.home});
const auditRecords = () => readFileSync(fleet.paths.auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>);
const byAgent = (document: any) => document.results.map((result: any) => [result.agent, result.status]).sort((a: string[], b: string[]) => a[0]!.localeCompare(b[0]!));
const normalise = (document: any) => ({...document, requestId: 'ID', startedAt: 'T', endedAt: 'T', durationMs: 0, results: document.results.map((result: any) => ({...result, durationMs: 0})).sort((a: any, b: any) => a.agent.localeCompare(b.agent))});
const loopback = /^(?:::ffff:)?127\.0\.0\.1$/;

function expectError(t: import('ava').ExecutionContext, answer: {status: number; text: string; json: () => any}, status: number, code: string, message?: string | RegExp) {
	t.is(answer.status, status, answer.text);
	t.is(answer.json().error.code, code);
	if (typeof message === 'string') {
		t.is(answer.json().error.message, message);
	} else if (message) {
		t.regex(answer.json().error.message, message);
	}
}

test.serial('batch and maxFailures reach the same rollout as the CLI: the same document as `run --json`, and the request is audited with them and the caller\'s address', async t => {
	const api = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'flaky', on: ['role=app'], batch: 1, maxFailures: 0}});
	t.is(api.status, 200, api.text);
	t.deepEqual(byAgent(api.json()), [['a1', 'failed'], ['a2', 'skipped'], ['a3', 'skipped']]);
	t.regex(api.json().results.find((result: any) => result.agent === 'a2').reason, /^not started: /);
	const cli = await xiExec('run', 'flaky', '--on', 'role=app', '--batch', '1', '--max-failures', '0', '--json');
	t.is(cli.code, 1, cli.stderr);
	t.deepEqual(normalise(api.json()), normalise(JSON.parse(cli.stdout)));

	const request = auditRecords().find(record => record['event'] === 'run.request' && record['requestId'] === api.json().requestId);
	t.like(request, {caller: 'api:admin', rollout: {batch: {value: 1, percent: false}, maxFailures: {value: 0, percent: false}}});
	t.regex(request!['source'], loopback);
	const cliRequest = auditRecords().find(record => record['event'] === 'run.request' && record['requestId'] === JSON.parse(cli.stdout).requestId);
	t.false(Object.hasOwn(cliRequest!, 'source'), 'the CLI has no network source to record');
	// The agents learn it too: their own record of the request names where the caller came from.
	const a1 = fleet.agents.find(agent => agent.name === 'a1')!;
	const agentRecord = readFileSync(join(a1.home, 'audit', 'agent.jsonl'), 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>).find(record => record['requestId'] === api.json().requestId);
	t.regex(agentRecord!['callerSource'], loopback);

	// The per-script operation takes them too; percentages as strings.
	const perScript = await call(fleet, 'POST', '/v1/scripts/flaky', {token: admin, body: {on: ['role=app'], batch: '33%', maxFailures: 0}});
	t.is(perScript.status, 200, perScript.text);
	t.deepEqual(byAgent(perScript.json()), [['a1', 'failed'], ['a2', 'skipped'], ['a3', 'skipped']]);
	// A threshold that is not crossed lets every host run.
	const tolerated = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'flaky', on: ['role=app'], batch: 1, maxFailures: 1}});
	t.deepEqual(byAgent(tolerated.json()), [['a1', 'failed'], ['a2', 'ok'], ['a3', 'ok']]);
});

test.serial('a canary needs an explicit decision (the API cannot ask): "stop" runs the canary hosts only, "continue" goes on when they are ok', async t => {
	for (const [path, script] of [['/v1/runs', {script: 'hello'}], ['/v1/scripts/hello', {}]] as const) {
		expectError(t, await call(fleet, 'POST', path, {token: admin, body: {...script, on: ['all'], canary: 1}}), 400, 'USAGE',
			'body field canaryDecision is required with canary: the API cannot ask whether to go on; send "continue" (go on when every canary host is ok) or "stop" (run the canary hosts only).');
	}

	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], canaryDecision: 'continue'}}), 400, 'USAGE', 'body field canaryDecision goes with canary (how many hosts to run first).');
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], canary: 1, canaryDecision: 'yes'}}), 400, 'USAGE', /^body field canaryDecision must be equal to one of the allowed values/);
	t.false(auditRecords().some(record => record['event'] === 'run.request' && record['rollout']?.canary !== undefined), 'a refused body is refused before anything is recorded');

	const stopped = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], canary: 1, canaryDecision: 'stop'}});
	t.is(stopped.status, 200, stopped.text);
	t.deepEqual(byAgent(stopped.json()), [['a1', 'ok'], ['a2', 'skipped'], ['a3', 'skipped']]);
	const went = await call(fleet, 'POST', '/v1/scripts/hello', {token: admin, body: {on: ['all'], canary: 2, canaryDecision: 'continue'}});
	t.deepEqual(byAgent(went.json()), [['a1', 'ok'], ['a2', 'ok'], ['a3', 'ok']]);
	// A canary host that fails stops the run whatever the decision.
	const failed = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'flaky', on: ['all'], canary: 1, canaryDecision: 'continue'}});
	t.deepEqual(byAgent(failed.json()), [['a1', 'failed'], ['a2', 'skipped'], ['a3', 'skipped']]);
});

test.serial('runTimeoutSeconds and idleTimeoutSeconds end hosts as timeout, saying which fired; shuffle is accepted', async t => {
	const never = join(temporaryDirectory(), 'never');
	const idle = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'waiter', args: [never], on: ['a1'], idleTimeoutSeconds: 1}});
	t.is(idle.status, 200, idle.text);
	t.like(idle.json().results[0], {agent: 'a1', status: 'timeout', reason: 'no output for 1 s (--idle-timeout)'});
	const whole = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'waiter', args: [never], on: ['a1'], runTimeoutSeconds: 1}});
	t.like(whole.json().results[0], {agent: 'a1', status: 'timeout', reason: 'the run\'s --run-timeout (1 s) fired'});
	const shuffled = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], shuffle: true, ignoreUnreachable: true}});
	t.deepEqual(byAgent(shuffled.json()), [['a1', 'ok'], ['a2', 'ok'], ['a3', 'ok']]);
});

test.serial('the blast-radius limits hold through the API: a confirm script needs "yes", maxTargets needs a batch within it', async t => {
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'careful', on: ['all']}}), 400, 'TOO_MANY_TARGETS', /careful/);
	const confirmed = await call(fleet, 'POST', '/v1/scripts/careful', {token: admin, body: {on: ['all'], yes: true}});
	t.is(confirmed.status, 200, confirmed.text);
	t.deepEqual(byAgent(confirmed.json()), [['a1', 'ok'], ['a2', 'ok'], ['a3', 'ok']]);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'wide', on: ['all'], yes: true}}), 400, 'TOO_MANY_TARGETS', /maxTargets/);
	const batched = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'wide', on: ['all'], batch: 2}});
	t.is(batched.status, 200, batched.text);
	t.deepEqual(byAgent(batched.json()), [['a1', 'ok'], ['a2', 'ok'], ['a3', 'ok']]);
});

const badBodies: Array<{title: string; body: Record<string, unknown>; message: RegExp}> = [
	{title: 'batch 0', body: {batch: 0}, message: /^body field batch must /},
	{title: 'batch 0%', body: {batch: '0%'}, message: /^body field batch must /},
	{title: 'batch 101%', body: {batch: '101%'}, message: /^body field batch must /},
	{title: 'batch as words', body: {batch: 'five'}, message: /^body field batch must /},
	{title: 'maxFailures negative', body: {maxFailures: -1}, message: /^body field maxFailures must /},
	{title: 'maxFailures 0%', body: {maxFailures: '0%'}, message: /^body field maxFailures must /},
	{title: 'maxFailures as a fraction', body: {maxFailures: 0.5}, message: /^body field maxFailures must /},
	{title: 'canary 0', body: {canary: 0, canaryDecision: 'stop'}, message: /^body field canary must be >= 1/},
	{title: 'runTimeoutSeconds 0', body: {runTimeoutSeconds: 0}, message: /^body field runTimeoutSeconds must be >= 1/},
	{title: 'idleTimeoutSeconds as a string', body: {idleTimeoutSeconds: '5'}, message: /^body field idleTimeoutSeconds must be integer/},
	{title: 'shuffle as a string', body: {shuffle: 'yes'}, message: /^body field shuffle must be boolean/},
];

for (const c of badBodies) {
	test(`a run with ${c.title} is refused with 400 naming the field`, async t => {
		expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], ...c.body}}), 400, 'USAGE', c.message);
	});
}

/** Follows a run's events until `until` holds for one; resolves with the messages so far (the stream stays open). */
function watch(requestId: string, until: (event: any) => boolean): {seen: Promise<SseMessage[]>; done: Promise<SseMessage[]>} {
	let resolveSeen: (messages: SseMessage[]) => void;
	const seen = new Promise<SseMessage[]>(resolve => {
		resolveSeen = resolve;
	});
	const messages: SseMessage[] = [];
	const done = followEvents(fleet, `/v1/runs/${requestId}/events`, admin, message => {
		messages.push(message);
		if (until(JSON.parse(message.data))) {
			resolveSeen([...messages]);
		}
	}).then(result => result.messages);
	return {seen, done};
}

function processGone(pid: number): true | undefined {
	try {
		process.kill(pid, 0);
		return undefined;
	} catch {
		return true;
	}
}

test.serial('POST /v1/runs/{id}/cancel stops a run this server runs: the running host is killed, the rest never start, and who cancelled is recorded', async t => {
	const marker = join(temporaryDirectory(), 'go');
	const accepted = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'waiter', args: [marker], on: ['a1', 'a2'], batch: 1, wait: false}});
	t.is(accepted.status, 202, accepted.text);
	const {requestId} = accepted.json();
	const stream = watch(requestId, event => event.type === 'agent-output' && event.data.includes('first'));
	const before = await stream.seen;
	const pid = Number(/pid (\d+)/.exec(before.map(message => JSON.parse(message.data).data ?? '').join(''))?.[1]);
	t.true(pid > 0);

	const cancelled = await call(fleet, 'POST', `/v1/runs/${requestId}/cancel`, {token: admin});
	t.is(cancelled.status, 200, cancelled.text);
	t.deepEqual(cancelled.json(), {requestId, agents: [{agent: 'a1', outcome: 'cancelled', reason: null}, {agent: 'a2', outcome: 'not running', reason: 'not started yet: it will not be (skipped)'}]});
	const events = (await stream.done).map(message => JSON.parse(message.data));
	t.is(events.at(-1).type, 'run-finished');
	t.false(existsSync(marker));
	await eventually(async () => processGone(pid), 'the cancelled script to be gone');

	const stored = (await call(fleet, 'GET', `/v1/runs/${requestId}`, {token: admin})).json();
	t.deepEqual(byAgent(stored), [['a1', 'cancelled'], ['a2', 'skipped']]);
	const record = auditRecords().find(entry => entry['event'] === 'run.cancel' && entry['requestId'] === requestId);
	t.like(record, {caller: 'api:admin', stillRunning: ['a1']});
	t.regex(record!['source'], loopback);
	const historyFile = readdirSync(join(fleet.home, 'runs')).find(name => name.endsWith(`_${requestId}.jsonl`))!;
	t.like(JSON.parse(readFileSync(join(fleet.home, 'runs', historyFile), 'utf8').trim().split('\n').at(-1)!), {type: 'end', cancelledBy: 'api:admin'});

	// Cancelling it again finds nothing running, and records nothing more.
	const again = await call(fleet, 'POST', `/v1/runs/${requestId}/cancel`, {token: admin});
	t.deepEqual(again.json(), {requestId, agents: []});
	t.is(auditRecords().filter(entry => entry['event'] === 'run.cancel' && entry['requestId'] === requestId).length, 1);
});

test.serial('POST /v1/runs/{id}/cancel stops a run the CLI runs, as `xi-exec cancel ID` does', async t => {
	const marker = join(temporaryDirectory(), 'go');
	const cli = spawnCli(controllerCli, ['run', 'waiter', '--on', 'a3', '--json', '--', marker], {XI_EXEC_HOME: fleet.home});
	const requestId = await eventually(async () => /"requestId":"([^"]+)"/.exec(cli.output().stdout)?.[1], 'the CLI run to start');
	// The history streams: wait until the script printed, so it is running.
	const running = await eventually(async () => {
		const answer = await call(fleet, 'GET', `/v1/runs/${requestId}`, {token: admin});
		return answer.status === 200 && answer.json().results[0].stdout.includes('first') ? answer.json() : undefined;
	}, 'the script to print');
	const pid = Number(/pid (\d+)/.exec(running.results[0].stdout)?.[1]);

	const cancelled = await call(fleet, 'POST', `/v1/runs/${requestId}/cancel`, {token: admin});
	t.is(cancelled.status, 200, cancelled.text);
	t.deepEqual(cancelled.json(), {requestId, agents: [{agent: 'a3', outcome: 'cancelled', reason: null}]});
	const result = await cli.done;
	t.is(result.code, 1, result.stderr);
	t.like(JSON.parse(result.stdout).results[0], {agent: 'a3', status: 'cancelled'});
	await eventually(async () => processGone(pid), 'the cancelled script to be gone');
	const record = auditRecords().find(entry => entry['event'] === 'run.cancel' && entry['requestId'] === requestId);
	t.like(record, {caller: 'api:admin', stillRunning: ['a3'], unreachable: []});
	t.regex(record!['source'], loopback);
});

test.serial('cancel refuses a run outside the token\'s scope, an unknown run and a malformed id', async t => {
	const everywhere = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all']}});
	expectError(t, await call(fleet, 'POST', `/v1/runs/${everywhere.json().requestId}/cancel`, {token: a3Only}), 403, 'OUT_OF_SCOPE', /a1/);
	expectError(t, await call(fleet, 'POST', '/v1/runs/00000000-0000-4000-8000-000000000000/cancel', {token: admin}), 404, 'RUN_UNKNOWN');
	expectError(t, await call(fleet, 'POST', '/v1/runs/x/cancel', {token: admin}), 400, 'USAGE', /path parameter id/);
	expectError(t, await call(fleet, 'POST', `/v1/runs/${everywhere.json().requestId}/cancel`, {token: admin, rawBody: 'x', headers: {'content-type': 'text/plain'}}), 415, 'MEDIA_TYPE_UNSUPPORTED');
});

test.serial('a refused run is audited with the caller\'s address too, through either route', async t => {
	for (const [path, body] of [['/v1/runs', {script: 'hello', on: ['all']}], ['/v1/scripts/hello', {on: ['a1']}]] as const) {
		const refused = await call(fleet, 'POST', path, {token: a3Only, body});
		expectError(t, refused, 403, 'OUT_OF_SCOPE');
		const record = auditRecords().filter(entry => entry['event'] === 'run.refused').at(-1);
		t.like(record, {caller: 'api:a3-only', script: 'hello', selector: body.on, reason: refused.json().error.message});
		t.regex(record!['source'], loopback);
	}
});

test.serial('GET /v1/runs and GET /v1/runs/{id} answer the same documents as `xi-exec runs --json` and `runs show ID [--agent] --json`', async t => {
	const cliList = await xiExec('runs', '--json');
	t.is(cliList.code, 0, cliList.stderr);
	const apiList = await call(fleet, 'GET', '/v1/runs?limit=50', {token: admin});
	t.deepEqual(apiList.json(), JSON.parse(cliList.stdout));
	const [latest] = apiList.json().runs;
	t.deepEqual(Object.keys(latest), ['requestId', 'script', 'args', 'selector', 'caller', 'targets', 'startedAt', 'endedAt', 'complete', 'counts']);

	for (const run of apiList.json().runs.slice(0, 4)) {
		const cliShow = await xiExec('runs', 'show', run.requestId, '--json');
		t.deepEqual((await call(fleet, 'GET', `/v1/runs/${run.requestId}`, {token: admin})).json(), JSON.parse(cliShow.stdout));
		const agent = run.targets[0];
		const cliAgent = await xiExec('runs', 'show', run.requestId, '--agent', agent, '--json');
		t.deepEqual((await call(fleet, 'GET', `/v1/runs/${run.requestId}?agent=${agent}`, {token: admin})).json(), JSON.parse(cliAgent.stdout));
	}

	expectError(t, await call(fleet, 'GET', `/v1/runs/${latest.requestId}?agent=zz9`, {token: admin}), 404, 'AGENT_UNKNOWN', `Run ${latest.requestId} did not target zz9; it targeted ${latest.targets.join(', ')}.`);
});

test.serial('a waited answer streams: a host\'s result reaches the client while another host still runs, then the whole `run --json` document', async t => {
	const marker = join(temporaryDirectory(), 'go');
	let seenMidway = '';
	// a2 waits for the marker, which the client makes only once a1's result has reached it: with
	// the answer built whole at the end, a2 would wait for it until its time limit.
	const answer = await call(fleet, 'POST', '/v1/runs', {
		token: admin,
		body: {script: 'staged', args: [marker], on: ['a1', 'a2'], timeoutSeconds: 20},
		onData(text) {
			if (!existsSync(marker) && text.includes('"agent":"a1"')) {
				seenMidway = text;
				writeFileSync(marker, '');
			}
		},
	});
	t.is(answer.status, 200, answer.text);
	t.is(answer.headers['transfer-encoding'], 'chunked');
	t.regex(String(answer.headers['content-type']), /^application\/json/);
	t.is(answer.headers['content-location'], `/v1/runs/${answer.json().requestId}`);
	t.false(seenMidway.includes('"agent":"a2"'), 'a2 had not answered when a1\'s result arrived');
	t.false(seenMidway.includes('"endedAt"'), 'nor had the run ended');
	t.deepEqual(byAgent(answer.json()), [['a1', 'ok'], ['a2', 'ok']]);
	t.regex(answer.json().results.find((result: any) => result.agent === 'a2').stdout, /first\nsecond\n$/);
	// The same document the history keeps.
	const stored = await call(fleet, 'GET', `/v1/runs/${answer.json().requestId}`, {token: admin});
	t.deepEqual(normalise(stored.json()), normalise(answer.json()));
});

test.serial('an event stream resumed with Last-Event-ID gets only the events after that one: from the live run, then from the history', async t => {
	const marker = join(temporaryDirectory(), 'go');
	const accepted = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'waiter', args: [marker], on: ['a2'], wait: false}});
	const {requestId} = accepted.json();
	const path = `/v1/runs/${requestId}/events`;

	// The first connection drops after run-started; the script is still waiting for the marker.
	const first = await followEvents(fleet, path, admin, () => 'stop');
	t.deepEqual(first.messages.map(message => [message.id, message.event]), [['0', 'run-started']]);

	// Resumed live: the events after "0", with no repeat; the marker is made only once the
	// resumed stream has shown "first", so the rest arrived live.
	const resumed = await followEvents(fleet, path, admin, message => {
		if (message.event === 'agent-output' && message.data.includes('first') && !existsSync(marker)) {
			writeFileSync(marker, '');
		}
	}, {'last-event-id': '0'});
	t.is(resumed.status, 200);
	t.true(existsSync(marker));
	const ids = resumed.messages.map(message => message.id);
	t.deepEqual(ids.slice(0, 2), ['0.1', '0.2'], 'connecting and started: not kept by the history, numbered after event 0');
	t.deepEqual(resumed.messages.map(message => message.event).slice(0, 2), ['agent-connecting', 'agent-started']);
	t.is(new Set(ids).size, ids.length);
	t.false(ids.includes('0'));
	t.is(resumed.messages.at(-1)!.event, 'run-finished');
	const liveKept = resumed.messages.filter(message => /^\d+$/.test(message.id!));

	// Once the run is over, the history answers with the same ids.
	const tail = await eventually(async () => {
		const replay = await followEvents(fleet, path, admin, undefined, {'last-event-id': liveKept[0]!.id!});
		return replay.messages.some(message => message.event === 'agent-connecting') ? undefined : replay;
	}, 'the run to be replayed from the history');
	const described = (messages: SseMessage[]) => messages.map(message => [message.id, message.event, JSON.parse(message.data)]);
	t.deepEqual(described(tail.messages), described(liveKept.slice(1)));
	const fromTransient = await followEvents(fleet, path, admin, undefined, {'last-event-id': '0.2'});
	t.deepEqual(fromTransient.messages.map(message => message.id), liveKept.map(message => message.id));
	const afterEnd = await followEvents(fleet, path, admin, undefined, {'last-event-id': liveKept.at(-1)!.id!});
	t.deepEqual(afterEnd.messages, []);

	for (const bad of ['abc', '-1', '1.2.3', '1e3']) {
		const answer = await call(fleet, 'GET', path, {token: admin, headers: {'last-event-id': bad}});
		expectError(t, answer, 400, 'USAGE', /^header last-event-id must match pattern/);
	}
});
