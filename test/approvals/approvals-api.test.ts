/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * /v1/approvals over a real HTTPS server in front of real agents: requests made by `xi-exec run
 * --no-wait` (another process), then listed, shown, approved and rejected over REST. The
 * security cases are a table: each asserts the exact status, code and message, and the
 * `approval.refused` (or invalidation) record it leaves in the controller's audit log, with the
 * client's address. The OpenAPI document publishes the routes with typed answers.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {compileErrors, validate} from '@readme/openapi-parser';
import {Ajv2020} from 'ajv/dist/2020.js';
import test from 'ava';
import {tokenCreate} from '../../source/commands/token.js';
import {openApprovalStore} from '../../source/approvals/store.js';
import {call, createToken, startApiFleet, type ApiFleet} from '../api/api-fleet.js';
import {controllerCli, runCli} from '../helpers/fleet.js';

let fleet: ApiFleet;
const tokens: Record<string, string> = {};
const echo = {body: '#!/bin/sh\necho "ran $*"\n'};

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['env=production'], scripts: {'echo-args': echo}},
		{name: 'web2', tags: ['env=production'], scripts: {'echo-args': echo}},
		{name: 'web3', tags: ['env=staging'], scripts: {'echo-args': echo}},
	]);
	writeFileSync(join(fleet.home, 'policy.json'), JSON.stringify({approvals: {rules: [
		{name: 'production', scripts: ['echo-args'], on: ['env=production'], approvers: ['token:lead-*'], expires: '30m'},
	]}}));
	for (const name of ['alice', 'lead-bob', 'lead-carol']) {
		let out = '';
		await tokenCreate(fleet.paths, {name, on: ['all'], operator: true, json: true}, {stdout: text => (out += text), stderr: () => undefined, onInterrupt: () => undefined});
		tokens[name] = (JSON.parse(out) as {token: string}).token;
	}

	tokens['lead-ci'] = (await createToken(fleet.paths, 'lead-ci', ['echo-args'], ['all'])).token;
	tokens['viewer'] = (await createToken(fleet.paths, 'viewer', ['uptime'], ['env=staging'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

const env = (who: string) => ({XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: tokens[who]!});

/** alice asks for a run that needs approval; the request's id. */
async function request(args: string[] = ['hello']): Promise<string> {
	const asked = await runCli(controllerCli, ['run', 'echo-args', '--on', 'env=production', '--no-wait', '--json', '--', ...args], env('alice'));
	if (asked.code !== 3) {
		throw new Error(`run --no-wait: ${asked.code} ${asked.stderr}`);
	}

	return (JSON.parse(asked.stdout) as {approval: {id: string}}).approval.id;
}

const records = (): Array<Record<string, any>> => readFileSync(fleet.paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
const approve = async (who: string | undefined, id: string, body: unknown = {}) => call(fleet, 'POST', `/v1/approvals/${id}/approve`, {...(who ? {token: tokens[who]!} : {}), body});

test.serial('list, show and approve over REST; the requester runs the approved plan', async t => {
	const id = await request();
	const listed = await call(fleet, 'GET', '/v1/approvals', {token: tokens['lead-bob']!});
	t.is(listed.status, 200);
	const [shown] = listed.json().approvals.filter((item: any) => item.id === id);
	t.like(shown, {id, state: 'pending', summary: {script: 'echo-args', args: ['hello'], targets: ['web1', 'web2']}, requester: {token: {name: 'alice'}, ai: false}, needs: [{name: 'production', approvers: ['token:lead-*'], quorum: 1}], votes: []});
	t.is(shown.plan, undefined, 'the stored plan is not shown');
	t.deepEqual((await call(fleet, 'GET', `/v1/approvals/${id.slice(0, 8)}`, {token: tokens['lead-bob']!})).json().id, id);

	// A token that is neither an operator, the requester, nor one whose scope is everything sees none.
	t.deepEqual((await call(fleet, 'GET', '/v1/approvals', {token: tokens['viewer']!})).json(), {approvals: []});
	const hidden = await call(fleet, 'GET', `/v1/approvals/${id}`, {token: tokens['viewer']!});
	t.is(hidden.status, 404);
	t.deepEqual(hidden.json(), {error: {code: 'APPROVAL_UNKNOWN', message: `No approval request ${JSON.stringify(id)} that this token may see.`}});

	const approved = await approve('lead-bob', id, {comment: 'checked'});
	t.is(approved.status, 200, approved.text);
	t.like(approved.json(), {id, state: 'approved', votes: [{token: {name: 'lead-bob'}, comment: 'checked'}]});
	t.like(records().findLast(record => record['event'] === 'approval.approved' && record['approvalId'] === id), {approver: {name: 'lead-bob'}, comment: 'checked', approved: true, source: '127.0.0.1'});

	const ran = await runCli(controllerCli, ['run', '--approved', id, '--json'], env('alice'));
	t.is(ran.code, 0, ran.stderr);
	const document = JSON.parse(ran.stdout) as {requestId: string; results: Array<{agent: string; status: string}>};
	t.deepEqual(document.results.map(result => `${result.agent} ${result.status}`).sort(), ['web1 ok', 'web2 ok']);
	t.like((await call(fleet, 'GET', `/v1/approvals/${id}`, {token: tokens['alice']!})).json(), {id, state: 'used'});
});

test.serial('POST /v1/runs of a gated run answers 409 APPROVAL_PENDING; the approved plan runs once from POST /v1/approvals/{id}/run', async t => {
	const asked = await call(fleet, 'POST', '/v1/runs', {token: tokens['alice']!, body: {script: 'echo-args', on: ['env=production'], args: ['over-rest']}});
	t.is(asked.status, 409, asked.text);
	t.is(asked.json().error.code, 'APPROVAL_PENDING');
	const [, id] = /^This run waits for approval: request ([0-9a-f-]{36}) \(needs 1 of: token:lead-\*\), until \S+\. Nothing has run\. GET \/v1\/approvals\/\1 follows it; once approved, POST \/v1\/approvals\/\1\/run with this token runs exactly this plan\.$/.exec(asked.json().error.message as string) ?? [];
	t.truthy(id, asked.json().error.message);
	const opened = (await call(fleet, 'GET', `/v1/approvals/${id!}`, {token: tokens['alice']!})).json();
	t.deepEqual(asked.json().error.approval, {id, needs: [{name: 'production', approvers: ['token:lead-*'], quorum: 1}], expiresAt: opened.expiresAt, follow: `/v1/approvals/${id!}`, run: `/v1/approvals/${id!}/run`});
	t.deepEqual(Object.keys(asked.json().error), ['code', 'message', 'approval']);
	// The 409 is what the published schema says (a validator we did not write reads it).
	const published = (await call(fleet, 'GET', '/openapi.json', {token: tokens['alice']!})).json();
	for (const operation of [published.paths['/v1/runs'].post, published.paths['/v1/scripts/echo-args'].post]) {
		const schema = operation.responses['409'].content['application/json'].schema;
		t.deepEqual(schema, {$ref: '#/components/schemas/ApprovalPendingError'});
		const matches = new Ajv2020({strict: false, validateFormats: false}).compile({...schema, components: published.components});
		t.true(matches(asked.json()), JSON.stringify(matches.errors));
		t.false(matches({error: {...asked.json().error, approval: {...asked.json().error.approval, needs: 1}}}), 'the schema is not a formality');
	}

	const scripted = await call(fleet, 'POST', '/v1/scripts/echo-args', {token: tokens['alice']!, body: {on: ['web1'], args: ['by-script']}});
	t.is(scripted.status, 409, scripted.text);
	t.like(scripted.json().error, {code: 'APPROVAL_PENDING', approval: {needs: [{name: 'production', approvers: ['token:lead-*'], quorum: 1}]}});
	t.is(scripted.json().error.approval.run, `/v1/approvals/${scripted.json().error.approval.id as string}/run`);
	t.is((await call(fleet, 'GET', scripted.json().error.approval.follow, {token: tokens['alice']!})).json().state, 'pending');
	t.is((await call(fleet, 'POST', `${scripted.json().error.approval.follow as string}/reject`, {token: tokens['alice']!, body: {reason: 'asked twice'}})).status, 200);
	t.like(records().findLast(record => record['event'] === 'approval.requested' && record['approvalId'] === id), {caller: 'api:alice', source: '127.0.0.1', args: ['over-rest']});
	const run = async (who: string) => call(fleet, 'POST', `/v1/approvals/${id!}/run`, {token: tokens[who]!, body: {}});

	const early = await run('alice');
	t.is(early.status, 409);
	t.is(early.json().error.code, 'APPROVAL_PENDING');
	t.is((await approve('lead-bob', id!)).status, 200);
	const stranger = await run('lead-bob');
	t.is(stranger.status, 403);
	t.deepEqual(stranger.json().error, {code: 'APPROVER_NOT_ALLOWED', message: `Request ${id!} was made by alice; only that token can run it.`});
	t.like(records().findLast(record => record['event'] === 'approval.refused' && record['approvalId'] === id), {action: 'run', code: 'APPROVER_NOT_ALLOWED', by: {name: 'lead-bob'}, source: '127.0.0.1'});

	const ran = await run('alice');
	t.is(ran.status, 200, ran.text);
	const document = ran.json() as {requestId: string; results: Array<{agent: string; status: string; stdout: string}>};
	t.deepEqual(document.results.map(result => `${result.agent} ${result.status} ${result.stdout.trim()}`).sort(), ['web1 ok ran over-rest', 'web2 ok ran over-rest']);
	t.like(records().find(record => record['event'] === 'run.request' && record['requestId'] === document.requestId), {caller: 'api:alice', approval: {id, approvers: ['lead-bob']}});
	const again = await run('alice');
	t.is(again.status, 409);
	t.is(again.json().error.code, 'APPROVAL_USED');
});

type Case = {
	title: string;
	/** Makes the request to act on; the id (and the setup the case needs). */
	setup: () => Promise<string>;
	act: (id: string) => ReturnType<typeof call>;
	status: number;
	code: string;
	message: (id: string) => RegExp;
	/** The record the refusal leaves. */
	record: (id: string) => Record<string, unknown>;
};

const cases: Case[] = [
	{
		title: 'the requester approving her own request',
		setup: async () => request(),
		act: async id => approve('alice', id),
		status: 403, code: 'APPROVAL_SELF',
		message: id => new RegExp(`^Alice made request ${id} and cannot approve it; it needs 1 more of: token:lead-\\*\\.$`),
		record: id => ({event: 'approval.refused', approvalId: id, action: 'approve', code: 'APPROVAL_SELF', by: {name: 'alice'}, source: '127.0.0.1'}),
	},
	{
		title: 'a token that is not an operator\'s',
		setup: async () => request(),
		act: async id => approve('lead-ci', id),
		status: 403, code: 'APPROVER_NOT_ALLOWED',
		message: () => /^Token lead-ci is not an operator token; approvers need their own/,
		record: id => ({event: 'approval.refused', approvalId: id, action: 'approve', code: 'APPROVER_NOT_ALLOWED', by: {name: 'lead-ci'}}),
	},
	{
		title: 'an approval of a rejected request',
		async setup() {
			const id = await request();
			const rejected = await call(fleet, 'POST', `/v1/approvals/${id}/reject`, {token: tokens['lead-carol']!, body: {reason: 'not during the freeze'}});
			if (rejected.status !== 200 || rejected.json().state !== 'rejected') {
				throw new Error(rejected.text);
			}

			return id;
		},
		act: async id => approve('lead-bob', id),
		status: 409, code: 'APPROVAL_CLOSED',
		message: () => /rejected by lead-carol: not during the freeze/,
		record: id => ({event: 'approval.refused', approvalId: id, action: 'approve', code: 'APPROVAL_CLOSED', by: {name: 'lead-bob'}}),
	},
	{
		title: 'a second approval of an approved request',
		async setup() {
			const id = await request();
			await approve('lead-carol', id);
			return id;
		},
		act: async id => approve('lead-bob', id),
		status: 409, code: 'APPROVAL_CLOSED',
		message: id => new RegExp(`^Request ${id} is already approved \\(by lead-carol\\); it waits for alice to run it\\.$`),
		record: id => ({event: 'approval.refused', approvalId: id, action: 'approve', code: 'APPROVAL_CLOSED', by: {name: 'lead-bob'}}),
	},
	{
		title: 'a reused approval id (the approval already ran)',
		async setup() {
			const id = await request();
			await approve('lead-carol', id);
			const ran = await runCli(controllerCli, ['run', '--approved', id], env('alice'));
			if (ran.code !== 0) {
				throw new Error(ran.stderr);
			}

			return id;
		},
		act: async id => approve('lead-bob', id),
		status: 409, code: 'APPROVAL_USED',
		message: () => /already ran|already used|used by/,
		record: id => ({event: 'approval.refused', approvalId: id, action: 'approve', code: 'APPROVAL_USED', by: {name: 'lead-bob'}}),
	},
	{
		title: 'an expired request',
		async setup() {
			const id = await request();
			// Time passes: the request's expiry is now behind us (what 30 minutes would do), written
			// through the store (a hand edit of approvals.json is refused by its integrity check).
			await openApprovalStore(fleet.home).update(file => ({...file, requests: file.requests.map(entry => (entry.id === id ? {...entry, expiresAt: new Date(Date.now() - 1000).toISOString()} : entry))}));
			return id;
		},
		act: async id => approve('lead-bob', id),
		status: 410, code: 'APPROVAL_EXPIRED',
		message: id => new RegExp(`^Request ${id} expired at [0-9T:.-]+Z; ask again \\(\`xi-exec run\` makes a new request\\)\\.$`),
		record: id => ({event: 'approval.expired', approvalId: id}),
	},
	{
		title: 'an approval of a different plan (a host joined the selection since)',
		async setup() {
			const id = await request();
			const tagged = await runCli(controllerCli, ['tag', 'web3', 'env=production'], {XI_EXEC_HOME: fleet.home});
			if (tagged.code !== 0) {
				throw new Error(tagged.stderr);
			}

			return id;
		},
		act: async id => approve('lead-bob', id),
		status: 409, code: 'APPROVAL_PLAN_CHANGED',
		message: () => /plan/,
		record: id => ({event: 'approval.invalidated', approvalId: id, by: {name: 'lead-bob'}}),
	},
	{
		title: 'an unknown id',
		setup: async () => 'feedbeef-0000-4000-8000-000000000000',
		act: async id => approve('lead-bob', id),
		status: 404, code: 'APPROVAL_UNKNOWN',
		message: () => /^No approval request "feedbeef-0000-4000-8000-000000000000"; `xi-exec approvals --all` lists them\.$/,
		record: () => ({}),
	},
];

for (const row of cases) {
	test.serial(`refused over REST: ${row.title}`, async t => {
		const id = await row.setup();
		const before = row.code === 'APPROVAL_UNKNOWN' ? undefined : (await call(fleet, 'GET', `/v1/approvals/${id}`, {token: tokens['lead-bob']!})).json();
		const answer = await row.act(id);
		t.is(answer.status, row.status, answer.text);
		t.is(answer.json().error.code, row.code);
		t.regex(answer.json().error.message, row.message(id));
		if (Object.keys(row.record(id)).length > 0) {
			t.like(records().findLast(record => record['approvalId'] === id && record['event'] === row.record(id)['event']), row.record(id));
		}

		if (before) {
			t.deepEqual((await call(fleet, 'GET', `/v1/approvals/${id}`, {token: tokens['lead-bob']!})).json().votes, before.votes, 'a refusal counts no vote');
		}
	});
}

test.serial('no token, a bad id and a missing reason are refused before the use case', async t => {
	t.is((await approve(undefined, 'feedbeef')).status, 401);
	const bad = await approve('lead-bob', '../../etc');
	t.is(bad.status, 404);
	const pattern = await call(fleet, 'POST', '/v1/approvals/XYZ!/approve', {token: tokens['lead-bob']!, body: {}});
	t.is(pattern.json().error.code, 'USAGE');
	const noReason = await call(fleet, 'POST', '/v1/approvals/feedbeef/reject', {token: tokens['lead-bob']!, body: {}});
	t.deepEqual(noReason.json(), {error: {code: 'USAGE', message: 'body field reason is required.'}});
});

test.serial('the controller policy\'s per-host answer is in the request: the hosts its rule selects, and those it does not', async t => {
	// web3 in staging (a row above moved it into production).
	t.is((await runCli(controllerCli, ['tag', 'web3', 'env=staging'], {XI_EXEC_HOME: fleet.home})).code, 0);
	const asked = await call(fleet, 'POST', '/v1/runs', {token: tokens['alice']!, body: {script: 'echo-args', on: ['all'], args: ['mixed']}});
	t.is(asked.status, 409, asked.text);
	const [, id] = /request ([0-9a-f-]{36})/.exec(asked.json().error.message as string) ?? [];
	const shown = await call(fleet, 'GET', `/v1/approvals/${id!}`, {token: tokens['lead-bob']!});
	t.is(shown.status, 200, shown.text);
	const selected = (agent: string) => ({agent, answer: 'approval', rules: ['production'], described: true});
	t.deepEqual(shown.json().summary.hosts, [selected('web1'), selected('web2'), {agent: 'web3', answer: 'allowed', rules: [], described: true}]);
	t.like(records().findLast(record => record['event'] === 'approval.requested' && record['approvalId'] === id), {hosts: [
		{answer: 'approval', rules: ['production'], described: true, agents: ['web1', 'web2']},
		{answer: 'allowed', rules: [], described: true, agents: ['web3']},
	]});

	// The answer is what the published schema says (a validator we did not write reads both).
	const document = (await call(fleet, 'GET', '/openapi.json', {token: tokens['lead-bob']!})).json();
	const checked = await validate(structuredClone(document));
	t.true(checked.valid, checked.valid ? '' : compileErrors(checked));
	const schema = document.paths['/v1/approvals/{id}'].get.responses['200'].content['application/json'].schema;
	const matches = new Ajv2020({strict: false, validateFormats: false}).compile({...schema, components: document.components});
	t.true(matches(shown.json()), JSON.stringify(matches.errors));
	t.false(matches({...shown.json(), summary: {...shown.json().summary, hosts: [{agent: 'web3', answer: 'maybe', rules: [], described: true}]}}), 'the schema is not a formality');
	t.is((await call(fleet, 'POST', `/v1/approvals/${id!}/reject`, {token: tokens['alice']!, body: {reason: 'asked for the wrong hosts'}})).status, 200);
});

test.serial('the OpenAPI document publishes the approvals routes with typed answers', async t => {
	const document = (await call(fleet, 'GET', '/openapi.json', {token: tokens['lead-bob']!})).json();
	const approveOperation = document.paths['/v1/approvals/{id}/approve'].post;
	t.is(approveOperation.operationId, 'approveRequest');
	t.deepEqual(approveOperation.tags, ['approvals']);
	const answer = approveOperation.responses['200'].content['application/json'].schema;
	t.deepEqual(answer.properties.state.enum, ['pending', 'approved', 'rejected', 'invalidated', 'expired', 'used']);
	t.truthy(document.paths['/v1/approvals'].get);
	t.truthy(document.paths['/v1/approvals/{id}/reject'].post);
});
