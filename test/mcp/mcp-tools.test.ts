/* eslint-disable @typescript-eslint/no-explicit-any -- tool results are read loosely, as a client would. */
/**
 * The MCP face over real agents, with the SDK's own Client on both transports (a real
 * `xi-exec mcp` process over stdio, and /mcp on `xi-exec serve` over Streamable HTTP): what a
 * scoped token sees, valid and invalid calls, a selector outside the scope (refused whole, nothing
 * dialled), policy denials from the agents' hook (a time window, a rate limit), a confirm script,
 * cancelling a long run, a token revoked between two calls, and the records both sides keep.
 */
import {readFileSync} from 'node:fs';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {tokenRevoke} from '../../source/commands/token.js';
import {agentCli, controllerCli, installScript, logEvents, runCli, waitFor} from '../helpers/fleet.js';
import {connect, createToken, startMcpFleet, type McpFleet, type Transport} from './mcp-fleet.js';

const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
// Deploys are allowed only on the day after tomorrow: never now.
const notToday = dayNames[(new Date().getUTCDay() + 2) % 7]!;
const policy = {rules: [
	{name: 'deploys in the change window', effect: 'allow', callers: ['*'], scripts: ['deploy'], window: {days: [notToday], timeZone: 'UTC'}},
	{name: 'one tail an hour', effect: 'allow', callers: ['*'], scripts: ['tail-log'], rate: {perCaller: '1/1h'}},
	{name: 'the rest', effect: 'allow', callers: ['*'], scripts: ['check-service', 'restart-app', 'sleep-long', 'hidden-script', 'new-check-stdio', 'new-check-http']},
]};
const checkService = {body: '#!/bin/sh\necho "$1 is running"\n', description: 'Whether a service runs', schema: {type: 'array', prefixItems: [{enum: ['nginx', 'postgres']}], minItems: 1, maxItems: 1}, readOnly: true};
const staging = {
	'check-service': checkService,
	'tail-log': {body: '#!/bin/sh\necho "last line"\n', readOnly: true},
	'restart-app': {body: '#!/bin/sh\necho restarted\n', confirm: true},
	deploy: {body: '#!/bin/sh\necho deployed\n'},
	'sleep-long': {body: '#!/bin/sh\necho "started $$"\nexec sleep 300\n', timeout: 600},
	'hidden-script': {body: '#!/bin/sh\necho hidden\n'},
};

let fleet: McpFleet;

test.before(async () => {
	fleet = await startMcpFleet([
		{name: 'web1', tags: ['env=staging'], scripts: staging, policy},
		{name: 'web2', tags: ['env=staging'], scripts: staging, policy},
		{name: 'db1', tags: ['env=production'], scripts: {'check-service': checkService}},
	]);
});

test.after.always(async () => {
	await fleet?.close();
});

const scripts = ['check-service', 'tail-log', 'restart-app', 'deploy', 'sleep-long'];

function agentRecords(name: string): Array<Record<string, any>> {
	const agent = fleet.agents.find(candidate => candidate.name === name)!;
	return readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

function controllerRecords(): Array<Record<string, any>> {
	return readFileSync(fleet.paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

for (const transport of ['stdio', 'http'] as Transport[]) {
	const session = async (t: {teardown: (fn: () => Promise<void>) => void}, name: string, options: Parameters<typeof connect>[3] = {}, scope = scripts) => {
		const token = await createToken(fleet.paths, `${name}-${transport}`, scope, ['env=staging']);
		const connected = await connect(fleet, token, transport, options);
		t.teardown(async () => connected.close());
		return {...connected, token, caller: `mcp:${name}-${transport}`};
	};

	test(`${transport}: a scoped token sees its scripts on its agents, and the built-in tools`, async t => {
		const {client} = await session(t, 'lister');
		const {tools} = await client.listTools();
		t.deepEqual(tools.map(tool => tool.name), ['list_agents', 'list_runs', 'get_run', 'cancel_run', 'wait_approval', 'check-service', 'deploy', 'restart-app', 'sleep-long', 'tail-log']);
		const check = tools.find(tool => tool.name === 'check-service')!;
		t.like(check.annotations, {readOnlyHint: true});
		t.is(check.annotations?.destructiveHint, undefined);
		t.like(tools.find(tool => tool.name === 'deploy')!.annotations, {readOnlyHint: false, destructiveHint: true});
		t.deepEqual((check.inputSchema.properties as any).args.prefixItems, [{enum: ['nginx', 'postgres']}]);
		t.deepEqual(check.inputSchema.required, ['on']);
		// Only agents in scope: db1 also offers check-service, but is not named.
		t.regex(check.description!, /offered by web1, web2\)/);
		t.notRegex(JSON.stringify(tools), /db1|hidden-script/);
		const listed = (await client.callTool({name: 'list_agents', arguments: {}})).structuredContent as any;
		t.deepEqual(listed.agents.map((agent: any) => [agent.name, agent.status]), [['web1', 'reachable'], ['web2', 'reachable']]);
		t.deepEqual(listed.agents[0].scripts.map((script: any) => script.name), ['check-service', 'deploy', 'restart-app', 'sleep-long', 'tail-log']);
	});

	test(`${transport}: a call with valid arguments runs on every selected agent`, async t => {
		const {client, caller} = await session(t, 'caller');
		const answer = await client.callTool({name: 'check-service', arguments: {on: ['env=staging'], args: ['nginx']}}) as any;
		t.is(answer.isError, undefined, JSON.stringify(answer));
		const result = answer.structuredContent;
		t.deepEqual(result.results.map((host: any) => [host.agent, host.status, host.exitCode, host.stdout]), [['web1', 'ok', 0, 'nginx is running\n'], ['web2', 'ok', 0, 'nginx is running\n']]);
		t.deepEqual(result.counts, {ok: 2});
		t.regex(answer.content[0].text, new RegExp(`check-service: 2 ok\\. Request ${result.requestId}\\.`));
		// Its own runs, and the history shows it like any run.
		const runs = (await client.callTool({name: 'list_runs', arguments: {}})).structuredContent as any;
		t.deepEqual(runs.runs.map((run: any) => run.requestId), [result.requestId]);
		const again = (await client.callTool({name: 'get_run', arguments: {requestId: result.requestId}})).structuredContent as any;
		t.deepEqual(again.results.map((host: any) => host.stdout), ['nginx is running\n', 'nginx is running\n']);
		const listed = await runCli(controllerCli, ['runs', '--json'], {XI_EXEC_HOME: fleet.home});
		t.true((JSON.parse(listed.stdout).runs as any[]).some(run => run.requestId === result.requestId && run.caller === caller));
		// Both sides recorded the caller, the client and the request id.
		const request = controllerRecords().find(record => record['event'] === 'run.request' && record['requestId'] === result.requestId)!;
		t.like(request, {caller, client: `xi-exec-test-client 9.9.9 over ${transport}`});
		t.like(controllerRecords().find(record => record['event'] === 'mcp.call' && record['requestId'] === result.requestId), {caller, tool: 'check-service', outcome: 'ok', transport, client: `xi-exec-test-client 9.9.9 over ${transport}`});
		const received = agentRecords('web1').find(record => record['event'] === 'request.received' && record['requestId'] === result.requestId)!;
		t.like(received, {caller, client: `xi-exec-test-client 9.9.9 over ${transport}`});
		if (transport === 'http') {
			t.is(request['source'], '127.0.0.1');
			t.is(received['callerSource'], '127.0.0.1');
		}
	});

	test(`${transport}: arguments the script's schema rejects are a tool error; a malformed call is a protocol error`, async t => {
		const {client} = await session(t, 'badargs');
		const answer = await client.callTool({name: 'check-service', arguments: {on: ['web1'], args: ['apache']}}) as any;
		t.true(answer.isError);
		t.regex(answer.content[0].text, /^ARGS_INVALID: args: argument #1 must be equal to one of the allowed values.*by the argument schema web1 advertises for check-service\.$/);
		await t.throwsAsync(client.callTool({name: 'check-service', arguments: {on: ['web1'], args: [1]}}), {message: /"args" must be a list of strings/});
		await t.throwsAsync(client.callTool({name: 'check-service', arguments: {args: ['nginx']}}), {message: /"on" is required/});
		await t.throwsAsync(client.callTool({name: 'check-service', arguments: {on: ['web1'], shell: 'rm -rf /'}}), {message: /unknown argument "shell"/});
		await t.throwsAsync(client.callTool({name: 'hidden-script', arguments: {on: ['web1']}}), {message: /Unknown tool hidden-script/});
	});

	test(`${transport}: a selector reaching outside the scope is refused whole, before anything is dialled`, async t => {
		const {client, caller} = await session(t, 'outside');
		const db1 = fleet.agents.find(agent => agent.name === 'db1')!;
		const seenBefore = db1.running.lines.length;
		for (const on of [['db1'], ['all'], ['web1', 'db1'], ['env=production']]) {
			const answer = await client.callTool({name: 'check-service', arguments: {on, args: ['nginx']}}) as any;
			t.true(answer.isError, JSON.stringify(on));
			t.regex(answer.content[0].text, /^OUT_OF_SCOPE: Refused before running anything: token outside-\w+ may not reach db1 \(its scope is --on env=staging\)\.$/);
		}

		// db1 was never asked anything, not even what it runs.
		t.is(db1.running.lines.length, seenBefore);
		t.true(controllerRecords().filter(record => record['event'] === 'run.refused' && record['caller'] === caller).length >= 4);
	});

	test(`${transport}: policy denials by the agents' hook come back as tool errors with the reason`, async t => {
		const {client} = await session(t, 'policy');
		const window = await client.callTool({name: 'deploy', arguments: {on: ['web1']}}) as any;
		t.true(window.isError);
		const [host] = window.structuredContent.results;
		t.is(host.status, 'denied');
		const decision = agentRecords('web1').find(record => record['event'] === 'decision' && record['requestId'] === window.structuredContent.requestId)!;
		t.is(host.reason, decision['reason']);
		t.regex(host.reason, /window/);
		t.true(window.content[0].text.includes(`web1: denied: ${host.reason}`));
		const first = await client.callTool({name: 'tail-log', arguments: {on: ['web2']}}) as any;
		t.is(first.isError, undefined);
		const second = await client.callTool({name: 'tail-log', arguments: {on: ['web2']}}) as any;
		t.true(second.isError);
		t.regex(second.structuredContent.results[0].reason, /rate/);
	});

	test(`${transport}: a confirm script cannot be run by an AI caller; its dry run can`, async t => {
		const {client} = await session(t, 'confirm');
		const answer = await client.callTool({name: 'restart-app', arguments: {on: ['web1']}}) as any;
		t.true(answer.isError);
		t.is(answer.content[0].text, 'TOO_MANY_TARGETS: Refused before running anything: restart-app asks for confirmation (confirm: true in its allowlist entry on agent web1), and an AI caller cannot confirm its own run: a person must run it (xi-exec run --yes), or an operator approve it (the controller\'s approvals policy needs a rule with callers ["ai"] for it).');
		t.false(agentRecords('web1').some(record => record['script'] === 'restart-app' && record['event'] === 'run.start'));
		const dry = await client.callTool({name: 'restart-app', arguments: {on: ['web1'], dryRun: true}}) as any;
		t.is(dry.isError, undefined);
		t.like(dry.structuredContent, {dryRun: true, targets: [{agent: 'web1', wouldRun: true, status: 'ok'}]});
	});

	test(`${transport}: cancel_run stops a long run on every host`, async t => {
		const {client} = await session(t, 'canceller');
		const long = client.callTool({name: 'sleep-long', arguments: {on: ['env=staging']}}, undefined, {timeout: 120_000}) as Promise<any>;
		const runs = await waitForAsync(async () => {
			const listed = (await client.callTool({name: 'list_runs', arguments: {}})).structuredContent as any;
			return listed.runs[0];
		});
		const web = fleet.agents.filter(agent => agent.name !== 'db1');
		await waitFor(() => (web.every(agent => logEvents(agent.running, 'run.start').some(event => event['requestId'] === runs.requestId)) ? true : undefined), 'both hosts to start the script');
		const cancelled = (await client.callTool({name: 'cancel_run', arguments: {requestId: runs.requestId}})).structuredContent as any;
		t.is(cancelled.requestId, runs.requestId);
		t.deepEqual(cancelled.agents.filter((agent: any) => agent.outcome === 'cancelled').map((agent: any) => agent.agent).sort(), ['web1', 'web2']);
		const answer = await long;
		t.deepEqual(answer.structuredContent.results.map((host: any) => host.status), ['cancelled', 'cancelled']);
		t.true(answer.structuredContent.cancelled);
	});

	test(`${transport}: a token revoked between two calls fails the very next call`, async t => {
		const {client} = await session(t, 'revoked');
		t.is((await client.callTool({name: 'list_agents', arguments: {}}) as any).isError, undefined);
		await tokenRevoke(fleet.paths, `revoked-${transport}`, {stdout: () => undefined, stderr: () => undefined, onInterrupt: () => undefined});
		if (transport === 'stdio') {
			const answer = await client.callTool({name: 'check-service', arguments: {on: ['web1'], args: ['nginx']}}) as any;
			t.true(answer.isError);
			t.regex(answer.content[0].text, /^TOKEN_INVALID: Token refused: token revoked-stdio was revoked at \S+\.$/);
		} else {
			// Over HTTP the global authentication refuses the request itself.
			await t.throwsAsync(client.callTool({name: 'check-service', arguments: {on: ['web1'], args: ['nginx']}}), {message: /401|revoked/});
		}
	});

	test(`${transport}: tools/list_changed after xi-exec-agent allow and a reload`, async t => {
		let changed = 0;
		const name = `new-check-${transport}`;
		const {client} = await session(t, 'watcher', {onListChanged: () => changed++}, [name]);
		t.deepEqual((await client.listTools()).tools.map(tool => tool.name), ['list_agents', 'list_runs', 'get_run', 'cancel_run', 'wait_approval']);
		const web2 = fleet.agents.find(agent => agent.name === 'web2')!;
		// `allow` signals the running agent, which reloads its allowlist.
		const allowed = await runCli(agentCli, ['allow', name, installScript(name, '#!/bin/sh\necho new\n'), '--description', 'A new check'], {XI_EXEC_AGENT_HOME: web2.home});
		t.is(allowed.code, 0, allowed.stderr);
		await waitForAsync(async () => (changed > 0 ? true : undefined));
		t.true((await client.listTools()).tools.some(tool => tool.name === name));
	});
}

async function waitForAsync<T>(probe: () => Promise<T | undefined>): Promise<T> {
	for (let attempt = 0; attempt < 3000; attempt++) {
		const value = await probe();
		if (value !== undefined) {
			return value;
		}

		await new Promise(resolve => setTimeout(resolve, 50));
	}

	throw new Error('gave up waiting');
}
