/* eslint-disable @typescript-eslint/no-explicit-any -- tool results are read loosely, as a client would. */
/**
 * "Own runs" are a token's by its id, not its name: after `token revoke bot` and a new
 * `token create --name bot` (here with a wider scope), the new token's list_runs shows none of
 * the old token's runs, and get_run and cancel_run on one are refused with the reason and an
 * audit record. A security reviewer expects a credential to reach only what it did itself: a name
 * reused later (for another AI agent, another scope) inherits nothing. Over both transports.
 */
import {readFileSync} from 'node:fs';
import test from 'ava';
import {revokeToken} from '../../source/core/tokens.js';
import {connect, createToken, startMcpFleet, type McpFleet, type Transport} from './mcp-fleet.js';

const quick = {body: '#!/bin/sh\necho "quick on $(hostname)"\n', readOnly: true};
let fleet: McpFleet;

test.before(async () => {
	fleet = await startMcpFleet([
		{name: 'web1', tags: ['env=staging'], scripts: {quick}},
		{name: 'db1', tags: ['env=production'], scripts: {quick}},
	]);
});

test.after.always(async () => {
	await fleet?.close();
});

function controllerRecords(): Array<Record<string, any>> {
	return readFileSync(fleet.paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

for (const transport of ['stdio', 'http'] as Transport[]) {
	test(`${transport}: a token re-created under a revoked token's name sees and cancels none of its runs`, async t => {
		const name = `bot-${transport}`;
		const first = await connect(fleet, await createToken(fleet.paths, name, ['quick'], ['env=production']), transport);
		t.teardown(async () => first.close());
		const old = (await first.client.callTool({name: 'quick', arguments: {on: ['db1']}})).structuredContent as any;
		const before = (await first.client.callTool({name: 'list_runs', arguments: {}})).structuredContent as any;
		t.deepEqual(before.runs.map((run: any) => [run.requestId, run.targets, run.counts]), [[old.requestId, ['db1'], {ok: 1}]]);

		await revokeToken({paths: fleet.paths, now: new Date()}, name, {caller: 'test'});
		const second = await connect(fleet, await createToken(fleet.paths, name, ['quick'], ['env=staging']), transport);
		t.teardown(async () => second.close());
		t.deepEqual((await second.client.callTool({name: 'list_runs', arguments: {}})).structuredContent, {runs: []});
		for (const tool of ['get_run', 'cancel_run']) {
			const refused = await second.client.callTool({name: tool, arguments: {requestId: old.requestId}}) as any;
			t.true(refused.isError, tool);
			t.deepEqual(refused.content, [{type: 'text', text: `OUT_OF_SCOPE: Refused: run ${old.requestId} was not started by this token (mcp:${name}); a token sees and cancels only its own runs.`}], tool);
			t.like(controllerRecords().findLast(record => record['event'] === 'mcp.call' && record['caller'] === `mcp:${name}` && record['tool'] === tool), {outcome: 'refused', code: 'OUT_OF_SCOPE', requestId: old.requestId}, tool);
		}

		// Its own runs are its own.
		const mine = (await second.client.callTool({name: 'quick', arguments: {on: ['web1']}})).structuredContent as any;
		const listed = (await second.client.callTool({name: 'list_runs', arguments: {}})).structuredContent as any;
		t.deepEqual(listed.runs.map((run: any) => run.requestId), [mine.requestId]);
		t.is(((await second.client.callTool({name: 'get_run', arguments: {requestId: mine.requestId}})).structuredContent as any).requestId, mine.requestId);
	});
}
