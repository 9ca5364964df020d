/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * Tags through the built executables, in front of real agents and a real REST API server:
 * `xi-exec tag|untag` change the registry (audited, and they decide token scopes at once), bad
 * input is refused with one clear sentence and leaves nothing behind, and `xi-exec-agent tag
 * set|unset` on a running agent shows as drift in `xi-exec agents` and GET /v1/agents.
 */
import {readFileSync} from 'node:fs';
import test from 'ava';
import {agentPaths, readAgentConfig} from '../../agent/home.js';
import {openControllerRegistry} from '../../source/home.js';
import {agentCli, controllerCli, runCli} from '../helpers/fleet.js';
import {call, createToken, eventually, startApiFleet, type ApiFleet} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};

let fleet: ApiFleet;
let admin: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['env=production', 'site=london'], scripts: {hello}},
		{name: 'web2', tags: ['env=staging'], scripts: {hello}},
	]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

const xiExec = async (...args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: fleet.home});
const registryTags = async (name: string) => (await openControllerRegistry(fleet.paths).read()).agents.find(agent => agent.name === name)?.tags;
const auditRecords = (event: string) => readFileSync(fleet.paths.auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>).filter(record => record['event'] === event);

test.serial('xi-exec tag and untag change the registry, are audited with who and what, and decide token scopes at once', async t => {
	const dbOnly = (await createToken(fleet.paths, 'db-only', ['hello'], ['role=db'])).token;
	const refused = await call(fleet, 'POST', '/v1/runs', {token: dbOnly, body: {script: 'hello', on: ['web1']}});
	t.is(refused.status, 403, refused.text);

	const tagged = await xiExec('tag', 'web1', 'role=db', 'site=paris');
	t.is(tagged.code, 0, tagged.stderr);
	t.is(tagged.stdout, 'web1: env=production role=db site=paris\n');
	t.deepEqual(await registryTags('web1'), {env: 'production', role: 'db', site: 'paris'});
	const [record] = auditRecords('agent.tags');
	t.like(record, {side: 'controller', agent: 'web1', set: {role: 'db', site: 'paris'}, unset: [], before: {env: 'production', site: 'london'}, after: {env: 'production', role: 'db', site: 'paris'}});
	t.regex(record!['caller'], /^[^@]+@.+$/);

	const allowed = await call(fleet, 'POST', '/v1/runs', {token: dbOnly, body: {script: 'hello', on: ['role=db']}});
	t.is(allowed.status, 200, allowed.text);
	t.deepEqual(allowed.json().results.map((result: any) => [result.agent, result.status]), [['web1', 'ok']]);

	const again = await xiExec('tag', 'web1', 'role=db', '--json');
	t.deepEqual(JSON.parse(again.stdout), {agent: 'web1', tags: {env: 'production', role: 'db', site: 'paris'}, before: {env: 'production', role: 'db', site: 'paris'}});

	const untagged = await xiExec('untag', 'web1', 'role');
	t.is(untagged.code, 0, untagged.stderr);
	t.is(untagged.stdout, 'web1: env=production site=paris\n');
	t.like(auditRecords('agent.tags').at(-1), {agent: 'web1', set: {}, unset: ['role'], before: {role: 'db'}, after: {env: 'production', site: 'paris'}});
	const revoked = await call(fleet, 'POST', '/v1/runs', {token: dbOnly, body: {script: 'hello', on: ['web1']}});
	t.is(revoked.status, 403, revoked.text);
	t.regex(revoked.json().error.message, /web1/);

	// Back as it was, for the other tests.
	t.is((await xiExec('tag', 'web1', 'site=london')).code, 0);
});

const refusals: Array<{title: string; args: string[]; message: string}> = [
	{title: 'an unknown agent', args: ['tag', 'web9', 'role=db'], message: 'xi-exec: No agent named "web9" is registered; `xi-exec agents` lists them. (AGENT_UNKNOWN)\n'},
	{title: 'a tag without =', args: ['tag', 'web1', 'production'], message: 'xi-exec: tag web1: tag "production" must be key=value; usage: xi-exec tag NAME key=value [key=value...]. (TAG_INVALID)\n'},
	{title: 'a bad key and a bad value at once', args: ['tag', 'web1', 'Env=x', 'role=a b'], message: 'xi-exec: tag web1: tag key "Env" must match ^[a-z0-9][a-z0-9._-]{0,62}$; tag value "a b" must match ^[A-Za-z0-9._:/@+-]{1,128}$; usage: xi-exec tag NAME key=value [key=value...]. (TAG_INVALID)\n'},
	{title: 'an escape sequence in a value', args: ['tag', 'web1', 'env=\u001B[2J'], message: 'xi-exec: tag web1: tag "env=\\u001b[2J" contains a control character; usage: xi-exec tag NAME key=value [key=value...]. (TAG_INVALID)\n'},
	{title: 'no tags', args: ['tag', 'web1'], message: 'xi-exec: tag web1: give at least one key=value; usage: xi-exec tag NAME key=value [key=value...]. (TAG_INVALID)\n'},
	{title: 'no agent', args: ['tag'], message: 'xi-exec: usage: xi-exec tag NAME key=value [key=value...]. (USAGE)\n'},
	{title: 'untag of a key that is not there', args: ['untag', 'web1', 'rol'], message: 'xi-exec: web1: there is no tag "rol" to remove (the tags are: env=production site=london). (TAG_INVALID)\n'},
	{title: 'untag with key=value', args: ['untag', 'web1', 'env=production'], message: 'xi-exec: untag web1: "env=production" is key=value; untag takes only the key ("env"); usage: xi-exec untag NAME key [key...]. (TAG_INVALID)\n'},
	{title: 'untag of an unknown agent', args: ['untag', 'web9', 'env'], message: 'xi-exec: No agent named "web9" is registered; `xi-exec agents` lists them. (AGENT_UNKNOWN)\n'},
];

for (const c of refusals) {
	test.serial(`xi-exec refuses ${c.title} with one sentence, exit 2, and changes and records nothing`, async t => {
		const before = await openControllerRegistry(fleet.paths).read();
		const recorded = auditRecords('agent.tags').length;
		const result = await xiExec(...c.args);
		t.is(result.code, 2);
		t.is(result.stderr, c.message);
		t.is(result.stdout, '');
		t.deepEqual(await openControllerRegistry(fleet.paths).read(), before);
		t.is(auditRecords('agent.tags').length, recorded);
	});
}

test.serial('xi-exec-agent tag set on a running agent shows it as drifted in xi-exec agents and GET /v1/agents, until the registry agrees', async t => {
	const web2 = fleet.agents.find(agent => agent.name === 'web2')!;
	const agentHome = {XI_EXEC_AGENT_HOME: web2.home};
	const set = await runCli(agentCli, ['tag', 'set', 'site=paris', 'env=production'], agentHome);
	t.is(set.code, 0, set.stderr);
	t.regex(set.stdout, /^Own tags: env=production site=paris\./);
	t.deepEqual(readAgentConfig(agentPaths(web2.home)).tags, {env: 'production', site: 'paris'});
	t.deepEqual(await registryTags('web2'), {env: 'staging'}, 'the agent proposes; the registry is not changed');

	// The running agent takes the change on SIGHUP (sent by the command); wait until it reports it.
	const listed = await eventually(async () => {
		const result = await xiExec('agents', '--json');
		const view = JSON.parse(result.stdout).agents.find((agent: any) => agent.name === 'web2');
		return view.drifted ? view : undefined;
	}, 'the agent to report its new tags');
	t.like(listed, {tags: {env: 'staging'}, reportedTags: {env: 'production', site: 'paris'}, drifted: true, status: 'reachable'});
	t.false(JSON.parse((await xiExec('agents', '--json', '--on', 'web1')).stdout).agents[0].drifted);

	const table = await xiExec('agents');
	t.is(table.code, 0, table.stderr);
	t.regex(table.stdout, /^web2 .* env=staging \(drifted\)$/m);
	t.regex(table.stdout, /^web1 .* env=production site=london$/m);
	t.true(table.stdout.includes('web2 drifted: its own tags differ from the registry\'s, which decides: env=production (registry: staging), site=paris (registry: none). Reconcile with `xi-exec tag web2 KEY=VALUE` or `xi-exec untag web2 KEY`, or `xi-exec-agent tag set|unset` on the host.\n'));

	const api = (await call(fleet, 'GET', '/v1/agents?on=web2', {token: admin})).json().agents[0];
	t.like(api, {tags: {env: 'staging'}, reportedTags: {env: 'production', site: 'paris'}, drifted: true});

	// The agent's own audit trail records the change it took.
	const agentRecords = readFileSync(agentPaths(web2.home).auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>);
	t.like(agentRecords.find(record => record['event'] === 'agent.tags'), {side: 'agent', agent: 'web2', before: {env: 'staging'}, after: {env: 'production', site: 'paris'}});

	// The registry agrees: no drift.
	t.is((await xiExec('tag', 'web2', 'env=production', 'site=paris')).code, 0);
	const agreed = JSON.parse((await xiExec('agents', '--json', '--on', 'web2')).stdout).agents[0];
	t.like(agreed, {drifted: false, tags: {env: 'production', site: 'paris'}});

	// unset drifts again; bad input is refused by the agent's command too.
	t.is((await runCli(agentCli, ['tag', 'unset', 'site'], agentHome)).code, 0);
	await eventually(async () => ((await call(fleet, 'GET', '/v1/agents?on=web2', {token: admin})).json().agents[0].drifted ? true : undefined), 'drift after tag unset');
	const bad = await runCli(agentCli, ['tag', 'unset', 'zone'], agentHome);
	t.is(bad.code, 2);
	t.is(bad.stderr, 'xi-exec-agent: tag unset: there is no tag "zone" to remove (the tags are: env=production). (TAG_INVALID)\n');
	const badSet = await runCli(agentCli, ['tag', 'set', 'env'], agentHome);
	t.is(badSet.code, 2);
	t.is(badSet.stderr, 'xi-exec-agent: tag set: tag "env" must be key=value; usage: xi-exec-agent tag set key=value [key=value...]. (TAG_INVALID)\n');
	const noVerb = await runCli(agentCli, ['tag', 'add', 'env=x'], agentHome);
	t.is(noVerb.code, 2);
	t.regex(noVerb.stderr, /usage: xi-exec-agent tag set KEY=VALUE\.\.\. or xi-exec-agent tag unset KEY\.\.\./);
	t.deepEqual(readAgentConfig(agentPaths(web2.home)).tags, {env: 'production'});
});
