/* eslint-disable @typescript-eslint/no-explicit-any -- tool results are read loosely, as a client would. */
/**
 * Two-person approval for an AI caller, with the MCP SDK's own Client over stdio (a real
 * `xi-exec mcp` process) and over Streamable HTTP (a real `xi-exec serve`) in front of real agents: a `confirm` script the controller's approvals
 * policy gates for AI callers answers "pending" with an approval id instead of a refusal, and
 * nothing runs; `wait_approval` answers pending until an operator (another process, the CLI)
 * approves, then runs exactly the approved plan once; a second claim, another token's wait, a
 * rejected request and a non-operator approver are refused with their codes and records.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {tokenCreate} from '../../source/commands/token.js';
import {controllerCli, runCli} from '../helpers/fleet.js';
import {connect, createToken, startMcpFleet, type McpFleet} from '../mcp/mcp-fleet.js';

let fleet: McpFleet;
const tokens: Record<string, string> = {};
const scripts = {
	'restart-app': {body: '#!/bin/sh\necho "restarted $*"\n', confirm: true},
	uptime: {body: '#!/bin/sh\necho up\n', readOnly: true},
};

test.before(async () => {
	fleet = await startMcpFleet([
		{name: 'web1', tags: ['env=production'], scripts},
		{name: 'web2', tags: ['env=production'], scripts},
	]);
	writeFileSync(join(fleet.home, 'policy.json'), JSON.stringify({approvals: {rules: [
		{name: 'AI callers on confirm scripts', scripts: ['*'], callers: ['ai'], confirm: true, approvers: ['token:lead-*'], expires: '30m'},
	]}}));
	tokens['claude'] = await createToken(fleet.paths, 'claude', ['restart-app', 'uptime'], ['all']);
	tokens['other-ai'] = await createToken(fleet.paths, 'other-ai', ['restart-app', 'uptime'], ['all']);
	let out = '';
	await tokenCreate(fleet.paths, {name: 'lead-bob', on: ['all'], operator: true, json: true}, {stdout: text => (out += text), stderr: () => undefined, onInterrupt: () => undefined});
	tokens['lead-bob'] = (JSON.parse(out) as {token: string}).token;
});

test.after.always(async () => {
	await fleet?.close();
});

const cli = async (who: string, ...args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: fleet.home, XI_EXEC_TOKEN: tokens[who]!});

function records(path: string): Array<Record<string, any>> {
	return readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

const agentRecords = (name: string) => records(agentPaths(fleet.agents.find(agent => agent.name === name)!.home).auditLog);

for (const transport of ['stdio', 'http'] as const) {
	test.serial(`${transport}: an AI caller's confirm script waits for an operator, then runs exactly the approved plan once`, async t => {
		const {client, close} = await connect(fleet, tokens['claude']!, transport);
		t.teardown(close);

		// Not gated (no confirm): runs at once.
		const plain = await client.callTool({name: 'uptime', arguments: {on: ['web1']}}) as any;
		t.like(plain.structuredContent, {counts: {ok: 1}});
		t.is(plain.structuredContent.approval, undefined);

		const asked = await client.callTool({name: 'restart-app', arguments: {on: ['env=production'], args: ['now']}}) as any;
		t.is(asked.isError, undefined, asked.content[0].text);
		const {approval} = asked.structuredContent;
		t.like(asked.structuredContent, {script: 'restart-app', complete: false, results: [], approval: {state: 'pending', needs: '1 of: token:lead-*'}});
		t.regex(asked.content[0].text, new RegExp(`^Waiting for approval: request ${approval.id} \\(needs 1 of: token:lead-\\*\\) for restart-app on 2 hosts, until .*Nothing has run\\.`));
		// The controller policy's answer for each host, as the CLI, the API and the console show it.
		const selected = (agent: string) => ({agent, answer: 'approval', rules: ['AI callers on confirm scripts'], described: true});
		t.deepEqual(approval.hosts, [selected('web1'), selected('web2')]);
		t.true(asked.content[0].text.includes(' The controller\'s policy per host: approval web[1-2]: rule "AI callers on confirm scripts" selects them. Nothing has run.'), asked.content[0].text);
		t.false(['web1', 'web2'].some(name => agentRecords(name).some(record => record['requestId'] === asked.structuredContent.requestId)), 'nothing was asked to run before approval');
		const requested = records(fleet.paths.auditLog).find(record => record['event'] === 'approval.requested' && record['approvalId'] === approval.id)!;
		t.like(requested, {script: 'restart-app', args: ['now'], targets: ['web1', 'web2'], requester: {name: 'claude'}, caller: 'mcp:claude', ai: true, planHash: approval.planHash});

		// Still pending: asked again, the same answer.
		const early = await client.callTool({name: 'wait_approval', arguments: {approvalId: approval.id, timeoutSeconds: 0}}) as any;
		t.like(early.structuredContent, {complete: false, approval: {id: approval.id, state: 'pending'}});

		// The AI's own token is no operator's: it cannot approve its own run.
		const self = await cli('claude', 'approve', approval.id);
		t.is(self.code, 2);
		t.regex(self.stderr, new RegExp(`Claude made request ${approval.id} and cannot approve it; it needs 1 more of: token:lead-\\*\\. \\(APPROVAL_SELF\\)`));
		t.like(records(fleet.paths.auditLog).findLast(record => record['event'] === 'approval.refused' && record['approvalId'] === approval.id), {action: 'approve', code: 'APPROVAL_SELF', by: {name: 'claude'}});

		// Another token neither waits for it nor runs it.
		const other = await connect(fleet, tokens['other-ai']!, transport);
		t.teardown(other.close);
		const foreign = await other.client.callTool({name: 'wait_approval', arguments: {approvalId: approval.id, timeoutSeconds: 0}}) as any;
		t.true(foreign.isError);
		t.is(foreign.content[0].text, `APPROVAL_UNKNOWN: No approval request "${approval.id}" made with this token (other-ai); a token waits only for its own requests.`);

		// The AI waits; bob approves from another process; the wait answers the run.
		const waiting = client.callTool({name: 'wait_approval', arguments: {approvalId: approval.id, timeoutSeconds: 120}}, undefined, {timeout: 150_000}) as Promise<any>;
		const approved = await cli('lead-bob', 'approve', approval.id, '--comment', 'ok for the AI');
		t.is(approved.code, 0, approved.stderr);
		const ran = await waiting;
		t.is(ran.isError, undefined, ran.content[0].text);
		t.like(ran.structuredContent, {script: 'restart-app', complete: true, counts: {ok: 2}, approval: {id: approval.id, state: 'used', planHash: approval.planHash}});
		t.deepEqual(ran.structuredContent.results.map((host: any) => `${host.agent}: ${host.stdout.trim()}`), ['web1: restarted now', 'web2: restarted now']);
		const runId = ran.structuredContent.requestId;
		t.is(runId, asked.structuredContent.requestId, 'the run is the plan that was asked for');
		for (const name of ['web1', 'web2']) {
			t.like(agentRecords(name).find(record => record['event'] === 'run.start' && record['requestId'] === runId), {script: 'restart-app', approvalId: approval.id});
		}

		const controller = records(fleet.paths.auditLog);
		t.like(controller.find(record => record['event'] === 'approval.executed' && record['approvalId'] === approval.id), {requestId: runId, by: {name: 'claude'}, approvers: [{name: 'lead-bob'}]});
		t.like(controller.find(record => record['event'] === 'run.request' && record['requestId'] === runId), {caller: 'mcp:claude', approval: {id: approval.id, approvers: ['lead-bob'], planHash: approval.planHash}});

		// An approval runs once.
		const again = await client.callTool({name: 'wait_approval', arguments: {approvalId: approval.id, timeoutSeconds: 0}}) as any;
		t.true(again.isError);
		t.regex(again.content[0].text, /^APPROVAL_USED: /);
		t.is(agentRecords('web1').filter(record => record['event'] === 'run.start' && record['requestId'] === runId).length, 1);
	});

	test.serial(`${transport}: a rejected request answers the rejection and its reason; nothing runs`, async t => {
		const {client, close} = await connect(fleet, tokens['claude']!, transport);
		t.teardown(close);
		const before = agentRecords('web1').filter(record => record['script'] === 'restart-app').length;
		const asked = await client.callTool({name: 'restart-app', arguments: {on: ['web1'], args: ['later']}}) as any;
		const {id} = asked.structuredContent.approval;
		const rejected = await cli('lead-bob', 'reject', id, '--reason', 'not during the freeze');
		t.is(rejected.code, 0, rejected.stderr);
		const answer = await client.callTool({name: 'wait_approval', arguments: {approvalId: id, timeoutSeconds: 30}}) as any;
		t.true(answer.isError);
		t.regex(answer.content[0].text, /^APPROVAL_CLOSED: .*rejected.*lead-bob.*not during the freeze/);
		t.like(records(fleet.paths.auditLog).findLast(record => record['event'] === 'approval.refused' && record['approvalId'] === id), {action: 'run', code: 'APPROVAL_CLOSED', by: {name: 'claude'}});
		t.is(agentRecords('web1').filter(record => record['script'] === 'restart-app').length, before);
	});
}
