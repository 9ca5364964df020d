/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * The REST API over a real HTTPS server in front of real agent processes: discovery, runs (the
 * same document as `xi-exec run --json`), the event stream live and replayed, the history, the
 * live OpenAPI document, tokens and the audit trail through the API, bad bodies and media types.
 */
import {existsSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {compileErrors, validate} from '@readme/openapi-parser';
import {errorCodes} from '../../source/errors.js';
import {openControllerRegistry} from '../../source/home.js';
import {agentCli, controllerCli, runCli, temporaryDirectory, installScript} from '../helpers/fleet.js';
import {call, createToken, eventually, followEvents, startApiFleet, type ApiFleet, type SseMessage} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};
// Prints, then waits until the file named by its argument exists, then prints again.
const waiter = {body: '#!/bin/sh\necho first\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho second\necho done >&2\n', description: 'Print, wait for a file, print'};
const wordSchema = {type: 'array', maxItems: 2, items: {$ref: '#/$defs/word'}, $defs: {word: {type: 'string', pattern: '^[a-z]+$'}}};
const numberSchema = {type: 'array', maxItems: 1, items: {type: 'string', pattern: '^[0-9]+$'}};

let fleet: ApiFleet;
let admin: string;
let londonOnly: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['env=production', 'site=london'], scripts: {hello, waiter, greet: {body: hello.body, description: 'Greet by word', schema: wordSchema}}},
		{name: 'web2', tags: ['env=production', 'site=paris'], scripts: {hello, greet: {body: hello.body, description: 'Greet by number', schema: numberSchema}, risky: {body: hello.body, description: 'An unsafe pattern', schema: {type: 'array', items: {type: 'string', pattern: '^(a+)+$'}}}}},
		{name: 'drift1', tags: ['env=staging', 'site=paris'], scripts: {hello}},
	]);
	// A registered agent that is not running.
	await createToken(fleet.paths, 'placeholder', ['hello'], ['all']);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	londonOnly = (await createToken(fleet.paths, 'london', ['hello', 'greet'], ['site=london'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

function expectError(t: import('ava').ExecutionContext, answer: {status: number; text: string; json: () => any}, status: number, code: string, mentions?: RegExp) {
	t.is(answer.status, status, answer.text);
	const body = answer.json();
	t.deepEqual(Object.keys(body), ['error']);
	t.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
	t.is(body.error.code, code);
	t.true(Object.hasOwn(errorCodes, body.error.code));
	if (mentions) {
		t.regex(body.error.message, mentions);
	}
}

test('discovery lists every selected agent with its tags, reachability, certificate expiry and scripts', async t => {
	const answer = await call(fleet, 'GET', '/v1/agents', {token: admin});
	t.is(answer.status, 200, answer.text);
	const agents = answer.json().agents as any[];
	t.deepEqual(agents.map(agent => agent.name), ['drift1', 'web1', 'web2']);
	const web1 = agents.find(agent => agent.name === 'web1');
	t.like(web1, {address: `127.0.0.1:${fleet.agents[0]!.port}`, tags: {env: 'production', site: 'london'}, status: 'reachable', reason: null, drifted: false});
	t.truthy(Date.parse(web1.lastSeen));
	t.truthy(Date.parse(web1.certificateExpires));
	t.deepEqual(web1.scripts.map((script: any) => script.name), ['greet', 'hello', 'waiter']);
	t.deepEqual(web1.scripts.find((script: any) => script.name === 'greet'), {name: 'greet', description: 'Greet by word', timeoutSeconds: 30, args: wordSchema, schemaProblem: null, maxTargets: null, confirm: false});
	const risky = agents.find(agent => agent.name === 'web2').scripts.find((script: any) => script.name === 'risky');
	t.regex(risky.schemaProblem, /unsafe pattern/);

	const filtered = await call(fleet, 'GET', '/v1/agents?on=env=production,site=paris&on=web1', {token: admin});
	t.deepEqual(filtered.json().agents.map((agent: any) => agent.name), ['web1', 'web2']);
	expectError(t, await call(fleet, 'GET', '/v1/agents?on=site=mars', {token: admin}), 404, 'NO_TARGETS');
	expectError(t, await call(fleet, 'GET', '/v1/agents?on=web%5B1-', {token: admin}), 400, 'SELECTOR_INVALID', /at position 4: this "\[" is never closed/);
});

test('the API takes the CLI\'s selector grammar: ranges, globs, exclusions, a string or a list, past the old 32 items', async t => {
	const names = async (query: string) => {
		const answer = await call(fleet, 'GET', `/v1/agents?${query}`, {token: admin});
		t.is(answer.status, 200, answer.text);
		return answer.json().agents.map((agent: any) => agent.name);
	};

	t.deepEqual(await names('on=web%5B1-2%5D&on=!web2'), ['web1']);
	t.deepEqual(await names('on=env%3Dprod*'), ['web1', 'web2']);
	t.deepEqual(await names('on=all&on=!web*'), ['drift1']);
	const clauses = [...Array.from({length: 299}, (_, i) => `ghost${i}`), 'drift*'];
	for (const on of ['web[1-2] !web1', ['web[1-2]', '!web1'], clauses]) {
		const answer = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on, dryRun: true}});
		t.is(answer.status, 200, answer.text);
		t.deepEqual(answer.json().targets.map((target: any) => target.agent), Array.isArray(on) && on.length > 2 ? ['drift1'] : ['web2']);
	}

	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: 'web[1-2] !web9'}}), 400, 'SELECTOR_INVALID', /--on !web9 matches no registered agent, so it would remove nothing/);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: 'web[3-4]'}}), 404, 'NO_TARGETS', /--on web\[3-4\] matches no registered agent/);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: Array.from({length: 1025}, () => 'all')}}), 400, 'USAGE', /body field on/);
});

test('a scoped token discovers only agents within its scope, and sees only its scripts', async t => {
	expectError(t, await call(fleet, 'GET', '/v1/agents', {token: londonOnly}), 403, 'OUT_OF_SCOPE', /may not reach .*web2/);
	const answer = await call(fleet, 'GET', '/v1/agents?on=site=london', {token: londonOnly});
	t.is(answer.status, 200, answer.text);
	t.deepEqual(answer.json().agents.map((agent: any) => agent.name), ['web1']);
	t.deepEqual(answer.json().agents[0].scripts.map((script: any) => script.name), ['greet', 'hello']);
});

test.serial('an agent whose own tags differ from the registry\'s is shown as drifted; an agent that does not answer, as unreachable', async t => {
	await openControllerRegistry(fleet.paths).update(registry => ({...registry, agents: registry.agents.map(agent => (agent.name === 'drift1' ? {...agent, tags: {...agent.tags, site: 'berlin'}} : agent))}));
	const drift = (await call(fleet, 'GET', '/v1/agents?on=drift1', {token: admin})).json().agents[0];
	t.like(drift, {drifted: true, tags: {env: 'staging', site: 'berlin'}, reportedTags: {env: 'staging', site: 'paris'}});

	await fleet.agents[2]!.running.stop();
	const gone = (await call(fleet, 'GET', '/v1/agents?on=drift1&timeoutSeconds=2', {token: admin})).json().agents[0];
	t.like(gone, {status: 'unreachable', scripts: [], reportedTags: null, drifted: false});
	t.regex(gone.reason, /refused|closed/);
});

test('POST /v1/runs answers the same document as `xi-exec run --json`', async t => {
	const api = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', args: ['a b', '$(x)'], on: ['env=production']}});
	t.is(api.status, 200, api.text);
	const cli = await runCli(controllerCli, ['run', 'hello', '--on', 'env=production', '--json', '--', 'a b', '$(x)'], {XI_EXEC_HOME: fleet.home});
	t.is(cli.code, 0, cli.stderr);
	// Both list results in the order the hosts finished: compare them by agent.
	const normalise = (document: any) => ({...document, requestId: 'ID', startedAt: 'T', endedAt: 'T', durationMs: 0, results: document.results.map((result: any) => ({...result, durationMs: 0})).sort((a: any, b: any) => a.agent.localeCompare(b.agent))});
	t.deepEqual(normalise(api.json()), normalise(JSON.parse(cli.stdout)));
	t.like(api.json().results.find((result: any) => result.agent === 'web1'), {status: 'ok', exitCode: 0, stdout: 'hello a b $(x)\n', stderr: '', reason: null});
	t.deepEqual(Object.keys(api.json()), ['requestId', 'script', 'args', 'startedAt', 'results', 'endedAt', 'durationMs']);
});

test('a dry run through the API answers the document of `xi-exec run --dry-run --json`: dryRun true, targets, wouldRun', async t => {
	const api = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'risky', args: ['aaa'], on: ['env=production'], dryRun: true}});
	t.is(api.status, 200, api.text);
	const cli = await runCli(controllerCli, ['run', 'risky', '--on', 'env=production', '--dry-run', '--json', '--', 'aaa'], {XI_EXEC_HOME: fleet.home});
	t.is(cli.code, 1, cli.stderr);
	const document = api.json();
	t.deepEqual({...document, requestId: 'ID'}, {...JSON.parse(cli.stdout), requestId: 'ID'});
	t.deepEqual(Object.keys(document), ['requestId', 'script', 'args', 'dryRun', 'targets']);
	t.like(document, {script: 'risky', args: ['aaa'], dryRun: true});
	t.like(document.targets, [
		{agent: 'web1', wouldRun: false, status: 'denied'},
		{agent: 'web2', wouldRun: true, status: 'ok', reason: 'allowlisted; no auth hook configured'},
	]);
	t.is(document.targets.length, 2);
});

test('a run with "wait": false answers 202 at once, and its events stream as they happen, then replay from the history', async t => {
	const marker = join(temporaryDirectory(), 'go');
	const accepted = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'waiter', args: [marker], on: ['web1'], wait: false}});
	t.is(accepted.status, 202, accepted.text);
	const {requestId} = accepted.json();
	t.deepEqual(accepted.json(), {requestId, events: `/v1/runs/${requestId}/events`, run: `/v1/runs/${requestId}`});

	// The script cannot print "second" before the marker exists, and the marker is made only
	// once the stream has delivered "first": so "first" arrived while the script still ran.
	let markerMadeAfter: string | undefined;
	const stream = await followEvents(fleet, `/v1/runs/${requestId}/events`, admin, message => {
		if (message.event === 'agent-output' && JSON.parse(message.data).data.includes('first') && !existsSync(marker)) {
			markerMadeAfter = message.id;
			writeFileSync(marker, '');
		}
	});
	t.is(stream.status, 200);
	t.regex(String(stream.headers['content-type']), /^text\/event-stream/);
	t.truthy(markerMadeAfter);
	const events = stream.messages.map(message => JSON.parse(message.data));
	t.deepEqual(stream.messages.map(message => message.event), events.map(event => event.type), 'each message\'s event name is its type');
	// Ids mean the same event live and replayed: N for the N-th event the history keeps, N.K for the K-th one after it that it does not.
	let kept = -1;
	let after = 0;
	t.deepEqual(stream.messages.map(message => message.id), events.map(event => (event.type === 'agent-connecting' || event.type === 'agent-started' ? `${kept}.${++after}` : String((after = 0, ++kept)))));
	t.is(events[0].type, 'run-started');
	const {startedAt, ...started} = events[0];
	t.deepEqual(started, {type: 'run-started', requestId, script: 'waiter', args: [marker], targets: ['web1']});
	t.regex(startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
	t.is(events.at(-1).type, 'run-finished');
	const output = events.filter(event => event.type === 'agent-output').map(event => event.data).join('');
	t.regex(output, /^first\nsecond\n(done\n)?/);
	const finished = events.find(event => event.type === 'agent-finished');
	t.like(finished.result, {agent: 'web1', status: 'ok', stdout: 'first\nsecond\n', stderr: 'done\n'});
	t.true(events.findIndex(event => event.type === 'agent-started') < events.findIndex(event => event.type === 'agent-output'));

	// Finished: the same run replays from the history (which keeps no connecting/started events,
	// so a replay without them is the history's, once the server has let go of the live run).
	const replayed = await eventually(async () => {
		const replay = await followEvents(fleet, `/v1/runs/${requestId}/events`, admin);
		const parsed = replay.messages.map((message: SseMessage) => JSON.parse(message.data));
		return parsed.some(event => event.type === 'agent-connecting') ? undefined : parsed;
	}, 'the run to be replayed from the history');
	t.deepEqual(replayed.map(event => event.type).filter(type => type !== 'agent-output'), ['run-started', 'agent-finished', 'run-finished']);
	t.deepEqual(replayed.find(event => event.type === 'agent-finished'), finished);
	t.deepEqual([replayed[0], replayed.at(-1)], [events[0], events.at(-1)], 'the run\'s own time replays as it was sent');
	t.is(replayed.filter(event => event.type === 'agent-output').map(event => event.data).join(''), output);

	// And the history has it.
	const stored = await call(fleet, 'GET', `/v1/runs/${requestId}`, {token: admin});
	t.deepEqual(Object.keys(stored.json()), ['requestId', 'script', 'args', 'startedAt', 'results', 'endedAt', 'durationMs']);
	t.like(stored.json(), {requestId, script: 'waiter', args: [marker]});
	t.like(stored.json().results[0], {agent: 'web1', status: 'ok', stdout: 'first\nsecond\n'});
	const list = await call(fleet, 'GET', '/v1/runs?limit=50', {token: admin});
	t.like(list.json().runs.find((run: any) => run.requestId === requestId), {script: 'waiter', args: [marker], caller: 'api:admin', selector: ['web1'], targets: ['web1'], complete: true, counts: {ok: 1}});
});

test('the history is scoped too: a token sees only runs within its scope', async t => {
	const london = await call(fleet, 'POST', '/v1/runs', {token: londonOnly, body: {script: 'hello', on: ['site=london']}});
	t.is(london.status, 200, london.text);
	const everywhere = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['env=production']}});
	const mine = (await call(fleet, 'GET', '/v1/runs?on=site=london', {token: londonOnly})).json().runs.map((run: any) => run.requestId);
	t.true(mine.includes(london.json().requestId));
	t.false(mine.includes(everywhere.json().requestId));
	expectError(t, await call(fleet, 'GET', `/v1/runs/${everywhere.json().requestId}`, {token: londonOnly}), 403, 'OUT_OF_SCOPE');
	expectError(t, await call(fleet, 'GET', `/v1/runs/${everywhere.json().requestId}/events`, {token: londonOnly}), 403, 'OUT_OF_SCOPE');
	expectError(t, await call(fleet, 'GET', '/v1/runs/00000000-0000-4000-8000-000000000000', {token: admin}), 404, 'RUN_UNKNOWN');
	expectError(t, await call(fleet, 'GET', '/v1/runs/00000000-0000-4000-8000-000000000000/events', {token: admin}), 404, 'RUN_UNKNOWN');
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: londonOnly, body: {script: 'hello', on: ['env=production']}}), 403, 'OUT_OF_SCOPE', /web2/);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: londonOnly, body: {script: 'waiter', on: ['web1']}}), 403, 'OUT_OF_SCOPE', /may not run waiter/);
});

async function validDocument(t: import('ava').ExecutionContext, token = admin): Promise<any> {
	const answer = await call(fleet, 'GET', '/openapi.json', {token});
	t.is(answer.status, 200, answer.text);
	const document = answer.json();
	const result = await validate(structuredClone(document));
	t.true(result.valid, result.valid ? '' : compileErrors(result));
	return document;
}

test('/openapi.json is OpenAPI 3.1 that a real validator accepts, with one operation per script (oneOf where schemas differ)', async t => {
	const document = await validDocument(t);
	t.is(document.openapi, '3.1.0');
	t.truthy(document.paths['/v1/runs'].post);
	t.truthy(document.paths['/v1/runs/{id}/events'].get);
	t.is(document.paths['/v1/scripts/{script}'], undefined, 'the parameterised route is replaced by one path per script');
	const hello = document.paths['/v1/scripts/hello'].post;
	t.is(hello.operationId, 'runScript_hello');
	t.is(hello.summary, 'Say hello');
	t.deepEqual(hello.requestBody.content['application/json'].schema.properties.args, {$ref: '#/components/schemas/Arguments', default: []});
	const greet = document.paths['/v1/scripts/greet'].post.requestBody.content['application/json'].schema.properties.args;
	t.deepEqual(greet.oneOf.map((branch: any) => branch.$ref), ['#/components/schemas/Args.greet.1', '#/components/schemas/Args.greet.2']);
	t.deepEqual(document.components.schemas['Args.greet.1'].items, {$ref: '#/components/schemas/Args.greet.1/$defs/word'}, 'local $refs point inside the relocated schema');
	t.deepEqual(document.components.schemas['Args.greet.2'], numberSchema);
	t.is(document.paths['/v1/scripts/risky'], undefined, 'a schema with an unsafe pattern is not published');
	t.like(document['x-xi-exec-refused-schemas'][0], {agent: 'web2', script: 'risky'});
	t.deepEqual(document.paths['/healthz'].get.security, []);
	t.deepEqual(document.paths['/v1/policy/check'].post.security, [{agentCertificate: []}]);

	const scoped = await call(fleet, 'GET', '/openapi.json?on=site=london', {token: londonOnly});
	t.deepEqual(Object.keys(scoped.json().paths).filter(path => path.startsWith('/v1/scripts/')).sort(), ['/v1/scripts/greet', '/v1/scripts/hello']);
	expectError(t, await call(fleet, 'GET', '/openapi.json', {token: londonOnly}), 403, 'OUT_OF_SCOPE');
});

test('the validator is not a formality: a document with a dangling $ref is refused', async t => {
	const document = await validDocument(t);
	document.paths['/v1/runs'].post.requestBody.content['application/json'].schema = {$ref: '#/components/schemas/Nothing'};
	t.false((await validate(document)).valid);
});

test.serial('a script allowed on a running agent appears in /openapi.json after the next discovery, and disappears when denied', async t => {
	const agentHome = fleet.agents[0]!.home;
	const path = installScript('fresh', '#!/bin/sh\necho fresh\n');
	const schema = JSON.stringify({type: 'array', maxItems: 1, items: {enum: ['now', 'later']}});
	const allowed = await runCli(agentCli, ['allow', 'fresh', path, '--description', 'A fresh script', '--schema', schema], {XI_EXEC_AGENT_HOME: agentHome});
	t.is(allowed.code, 0, allowed.stderr);
	const appeared = await eventually(async () => {
		const document = (await call(fleet, 'GET', '/openapi.json', {token: admin})).json();
		return document.paths['/v1/scripts/fresh'] ? document : undefined;
	}, 'fresh to appear');
	t.is(appeared.paths['/v1/scripts/fresh'].post.summary, 'A fresh script');
	t.deepEqual(appeared.components.schemas['Args.fresh'], JSON.parse(schema));
	await validDocument(t);

	const run = await call(fleet, 'POST', '/v1/scripts/fresh', {token: admin, body: {on: ['web1'], args: ['now']}});
	t.is(run.status, 200, run.text);
	t.is(run.json().results[0].stdout, 'fresh\n');
	expectError(t, await call(fleet, 'POST', '/v1/scripts/fresh', {token: admin, body: {on: ['web1'], args: ['never']}}), 400, 'ARGS_INVALID', /args: argument #1 must be equal to one of the allowed values.*web1/);

	const denied = await runCli(agentCli, ['deny', 'fresh'], {XI_EXEC_AGENT_HOME: agentHome});
	t.is(denied.code, 0, denied.stderr);
	await eventually(async () => ((await call(fleet, 'GET', '/openapi.json', {token: admin})).json().paths['/v1/scripts/fresh'] ? undefined : true), 'fresh to disappear');
	expectError(t, await call(fleet, 'POST', '/v1/scripts/fresh', {token: admin, body: {on: ['web1']}}), 404, 'SCRIPT_UNKNOWN');
	await validDocument(t);
});

test('the per-script operation checks the arguments against each selected agent\'s own schema before running', async t => {
	expectError(t, await call(fleet, 'POST', '/v1/scripts/greet', {token: admin, body: {on: ['web1', 'web2'], args: ['abc']}}), 400, 'ARGS_INVALID', /web2/);
	const web1 = await call(fleet, 'POST', '/v1/scripts/greet', {token: admin, body: {on: ['web1'], args: ['abc']}});
	t.is(web1.status, 200, web1.text);
	t.is(web1.json().results[0].stdout, 'hello abc\n');
	const web2 = await call(fleet, 'POST', '/v1/scripts/greet', {token: admin, body: {on: ['web2'], args: ['42']}});
	t.is(web2.json().results[0].stdout, 'hello 42\n');
	expectError(t, await call(fleet, 'POST', '/v1/scripts/greet', {token: londonOnly, body: {on: ['web2'], args: ['42']}}), 403, 'OUT_OF_SCOPE');
});

test('bad bodies get 400 naming the field', async t => {
	const cases: Array<[unknown, string, RegExp]> = [
		[{}, 'USAGE', /body field script is required/],
		[{script: 'hello'}, 'USAGE', /body field on is required/],
		[{script: 'hello', on: 5}, 'USAGE', /body field on must be array,string/],
		[{script: 'hello', on: []}, 'USAGE', /body field on must NOT have fewer than 1 items/],
		[{script: 'hello', on: ''}, 'USAGE', /body field on must NOT have fewer than 1 characters/],
		[{script: 'hello', on: ['all'], args: 'x'}, 'USAGE', /body field args must be array/],
		[{script: 'hello', on: ['all'], args: ['ok', 1]}, 'USAGE', /body field args\[1\] must be string/],
		[{script: 'hello', on: ['all'], parallel: 0}, 'USAGE', /body field parallel must be >= 1/],
		[{script: 'hello', on: ['all'], timeoutSeconds: 1.5}, 'USAGE', /body field timeoutSeconds must be integer/],
		[{script: 'hello', on: ['all'], dryRun: 'yes'}, 'USAGE', /body field dryRun must be boolean/],
		[{script: 'hello', on: ['all'], colour: 'red'}, 'USAGE', /body field colour is not allowed/],
		[{script: '../etc/passwd', on: ['all']}, 'USAGE', /body field script must match pattern/],
		[{script: 'hello', on: ['all'], args: ['a\u0000b']}, 'ARGS_INVALID', /NUL/],
		[{script: 'hello', on: ['not a selector!']}, 'SELECTOR_INVALID', /not a selector/],
		[[], 'USAGE', /body must be object/],
	];
	for (const [body, code, message] of cases) {
		expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body}), errorCodes[code as keyof typeof errorCodes].http, code, message);
	}

	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: '{"script": ', headers: {'content-type': 'application/json'}}), 400, 'USAGE', /not valid JSON/);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: '{"__proto__": {"admin": true}, "script": "hello", "on": ["all"]}', headers: {'content-type': 'application/json'}}), 400, 'USAGE', /__proto__/);
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: '', headers: {'content-type': 'application/json'}}), 400, 'USAGE');
	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all'], args: ['x'.repeat(70_000)]}}), 413, 'BODY_TOO_LARGE');
	expectError(t, await call(fleet, 'POST', '/v1/scripts/Not!A!Name', {token: admin, body: {on: ['all']}}), 400, 'USAGE', /path parameter script must match pattern/);
	expectError(t, await call(fleet, 'GET', '/v1/runs?limit=0', {token: admin}), 400, 'USAGE', /query parameter limit must be >= 1/);
	expectError(t, await call(fleet, 'GET', '/v1/runs?colour=red', {token: admin}), 400, 'USAGE', /query parameter colour is not allowed/);
	expectError(t, await call(fleet, 'GET', '/v1/runs/not-an-id!', {token: admin}), 400, 'USAGE', /path parameter id must match pattern/);
	expectError(t, await call(fleet, 'POST', '/v1/tokens', {token: admin, body: {name: 'x', scripts: [], on: ['all']}}), 400, 'USAGE', /body field scripts must NOT have fewer than 1 items/);
	expectError(t, await call(fleet, 'POST', '/v1/tokens', {token: admin, body: {name: 'x', scripts: ['hello'], on: ['all'], expires: 'forever'}}), 400, 'USAGE', /body field expires must match pattern/);
});

test('a body must be application/json: anything else, however close, gets 415', async t => {
	// A body that would fail validation: accepted media types get 400 from the schema, refused ones 415 first.
	const body = JSON.stringify({script: 'hello'});
	const refused = ['text/plain', 'application/json5', 'application/jsonx', 'application/json, text/plain', 'application/json;foo=bar', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/problem+json', 'json', 'application/json;', 'application/json ; charset=utf-8 ; x=1'];
	for (const type of refused) {
		expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: body, headers: {'content-type': type}}), 415, 'MEDIA_TYPE_UNSUPPORTED');
	}

	expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: body}), 415, 'MEDIA_TYPE_UNSUPPORTED');
	expectError(t, await call(fleet, 'POST', '/v1/tokens', {token: admin, rawBody: 'name=x', headers: {'content-type': 'application/x-www-form-urlencoded'}}), 415, 'MEDIA_TYPE_UNSUPPORTED');
	for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset="utf-8"']) {
		expectError(t, await call(fleet, 'POST', '/v1/runs', {token: admin, rawBody: body, headers: {'content-type': type}}), 400, 'USAGE', /on is required/);
	}
});

test.serial('tokens through the API: create (shown once), use, list (never the token), revoke (refused on the very next call)', async t => {
	const created = await call(fleet, 'POST', '/v1/tokens', {token: admin, body: {name: 'ci', scripts: ['hello'], on: ['web1'], expires: '1h'}});
	t.is(created.status, 201, created.text);
	const {token, id} = created.json();
	t.regex(token, /^xie_/);
	t.like(created.json(), {name: 'ci', scripts: ['hello'], on: ['web1']});
	t.is((await call(fleet, 'GET', '/v1/agents?on=web1', {token})).status, 200);
	const list = await call(fleet, 'GET', '/v1/tokens', {token: admin});
	t.false(list.text.includes(token), 'the token itself is never listed');
	t.false(list.text.includes('hash'));
	t.like(list.json().tokens.find((entry: any) => entry.id === id), {name: 'ci', state: 'active'});
	expectError(t, await call(fleet, 'GET', '/v1/tokens', {token}), 403, 'OUT_OF_SCOPE');
	expectError(t, await call(fleet, 'POST', '/v1/tokens', {token: admin, body: {name: 'ci', scripts: ['hello'], on: ['web1']}}), 400, 'USAGE', /exists/);

	const revoked = await call(fleet, 'DELETE', '/v1/tokens/ci', {token: admin});
	t.deepEqual(revoked.json(), {name: 'ci', revoked: true});
	expectError(t, await call(fleet, 'GET', '/v1/agents?on=web1', {token}), 401, 'TOKEN_INVALID', /revoked/);
	expectError(t, await call(fleet, 'DELETE', '/v1/tokens/ci', {token: admin}), 404, 'TOKEN_UNKNOWN', /No active token/);
	expectError(t, await call(fleet, 'DELETE', '/v1/tokens/nosuch', {token: admin}), 404, 'TOKEN_UNKNOWN', /No active token named "nosuch"/);
});

test('the audit trail through the API: a run\'s request and outcomes, by request id', async t => {
	const run = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['web1', 'web2']}});
	const {requestId} = run.json();
	const audit = await call(fleet, 'GET', `/v1/audit?request=${requestId}`, {token: admin});
	t.is(audit.status, 200, audit.text);
	const records = audit.json().records as any[];
	t.deepEqual(records.map(record => record.event), ['run.request', 'run.outcome', 'run.outcome']);
	t.like(records[0], {requestId, script: 'hello', caller: 'api:admin', targets: ['web1', 'web2'], side: 'controller'});
	t.like(records[0].token, {name: 'admin'});
	const refused = await call(fleet, 'POST', '/v1/runs', {token: londonOnly, body: {script: 'hello', on: ['all']}});
	t.is(refused.status, 403);
	const all = (await call(fleet, 'GET', '/v1/audit?since=1h&limit=10000', {token: admin})).json().records as any[];
	t.true(all.some(record => record.event === 'run.refused' && record.caller === 'api:london'), 'a refusal is audited too');
	expectError(t, await call(fleet, 'GET', `/v1/audit?request=${requestId}`, {token: londonOnly}), 403, 'OUT_OF_SCOPE');
});

test('every answer says nosniff and no-store; the docs page loads nothing from elsewhere', async t => {
	const health = await call(fleet, 'GET', '/healthz');
	t.deepEqual(health.json(), {status: 'ok'});
	t.is(health.headers['x-content-type-options'], 'nosniff');
	t.is(health.headers['cache-control'], 'no-store');
	const page = await call(fleet, 'GET', '/docs');
	t.regex(String(page.headers['content-type']), /^text\/html/);
	t.regex(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
	t.false(/https?:\/\//.test(page.text), 'no absolute URL in the page');
	const script = await call(fleet, 'GET', '/docs/docs.js');
	t.regex(String(script.headers['content-type']), /^text\/javascript/);
	t.false(/https?:\/\/|innerHTML|eval\(/.test(script.text));
	t.regex(script.text, /Authorization: 'Bearer ' \+ token/);
});
