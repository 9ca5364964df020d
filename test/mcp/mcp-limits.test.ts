/* eslint-disable @typescript-eslint/no-explicit-any -- tool results are read loosely, as a client would. */
/**
 * The per-token limits over the wire, with two MCP clients holding one token: two `xi-exec mcp`
 * processes, two sessions on /mcp, and one of each. The second client's call is refused with the
 * exact reason while the first one's runs (concurrent calls), or once the token's calls of the
 * last minute are used up between them (calls per minute), and each refusal leaves its audit
 * record. A client process killed while its call runs does not keep the token's slot.
 */
import {readFileSync} from 'node:fs';
import test from 'ava';
import {logEvents, waitFor} from '../helpers/fleet.js';
import {connect, createToken, startMcpFleet, type Connected, type McpFleet, type Transport} from './mcp-fleet.js';

const sleeper = {body: '#!/bin/sh\necho "started $$"\nexec sleep 300\n', timeout: 600};
const quick = {body: '#!/bin/sh\necho quick\n', readOnly: true};

let fleet: McpFleet;

test.before(async () => {
	fleet = await startMcpFleet([{name: 'web1', tags: ['env=staging'], scripts: {'sleep-long': sleeper, quick}}], {maxConcurrentCalls: 1, callsPerMinute: 4});
});

test.after.always(async () => {
	await fleet?.close();
});

function controllerRecords(): Array<Record<string, any>> {
	return readFileSync(fleet.paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

async function clients(t: {teardown: (fn: () => Promise<void>) => void}, name: string, transports: [Transport, Transport]): Promise<[Connected, Connected]> {
	const token = await createToken(fleet.paths, name, ['sleep-long', 'quick'], ['env=staging']);
	const connected = await Promise.all(transports.map(async (transport, index) => connect(fleet, token, transport, {name: `client-${index + 1}`})));
	t.teardown(async () => {
		await Promise.all(connected.map(async client => client.close()));
	});
	return connected as [Connected, Connected];
}

/** Starts sleep-long through `client`, and resolves once web1 runs it (the call holds its slot until it ends). */
async function holdSlot(client: Connected, caller: string): Promise<{answer: Promise<any>; requestId: string}> {
	const before = new Set(logEvents(fleet.agents[0]!.running, 'run.start').map(event => event['requestId']));
	const answer = client.client.callTool({name: 'sleep-long', arguments: {on: ['web1']}}, undefined, {timeout: 115_000});
	const requestId = await waitFor(() => logEvents(fleet.agents[0]!.running, 'run.start').find(event => event['caller'] === caller && !before.has(event['requestId']))?.['requestId'] as string | undefined, `${caller}'s sleep-long to start`);
	return {answer, requestId};
}

const pairs: Array<[Transport, Transport]> = [['stdio', 'stdio'], ['http', 'http'], ['stdio', 'http']];

for (const [first, second] of pairs) {
	test(`${first} + ${second}, one token: the second client's call is refused while the first one's runs (maxConcurrentCalls 1)`, async t => {
		const name = `pair-${first}-${second}`;
		const [one, two] = await clients(t, name, [first, second]);
		const held = await holdSlot(one, `mcp:${name}`);
		const refused = await two.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as any;
		t.true(refused.isError);
		t.deepEqual(refused.content, [{type: 'text', text: `RATE_LIMITED: Refused: token ${name} already has 1 call running, its limit (maxConcurrentCalls 1); wait for one to end.`}]);
		t.like(controllerRecords().findLast(record => record['event'] === 'mcp.call' && record['caller'] === `mcp:${name}`), {tool: 'quick', outcome: 'refused', code: 'RATE_LIMITED', reason: `Refused: token ${name} already has 1 call running, its limit (maxConcurrentCalls 1); wait for one to end.`, transport: second, client: `client-2 9.9.9 over ${second}`});
		// cancel_run takes no slot (a token can always stop its own run): the first client cancels, and the slot is free for the second.
		const cancelled = (await one.client.callTool({name: 'cancel_run', arguments: {requestId: held.requestId}})) as any;
		t.is(cancelled.isError, undefined, JSON.stringify(cancelled));
		t.deepEqual(cancelled.structuredContent.agents, [{agent: 'web1', outcome: 'cancelled', reason: null}]);
		t.deepEqual((await held.answer).structuredContent.results.map((host: any) => host.status), ['cancelled']);
		const after = await waitForOk(async () => two.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as Promise<any>);
		t.deepEqual(after.structuredContent.results.map((host: any) => [host.agent, host.status, host.stdout]), [['web1', 'ok', 'quick\n']]);
	});
}

test('stdio + http, one token: calls per minute are counted across both clients (callsPerMinute 4)', async t => {
	const name = 'pair-per-minute';
	const [one, two] = await clients(t, name, ['stdio', 'http']);
	for (const client of [one, two, one, two]) {
		const answer = await client.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as any;
		t.is(answer.isError, undefined, JSON.stringify(answer));
	}

	for (const [client, transport] of [[one, 'stdio'], [two, 'http']] as const) {
		const refused = await client.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as any;
		t.true(refused.isError);
		t.regex(refused.content[0].text, new RegExp(`^RATE_LIMITED: Refused: token ${name} made 4 calls in the last minute, its limit \\(callsPerMinute 4\\); call again in \\d+ s\\.$`));
		t.like(controllerRecords().findLast(record => record['event'] === 'mcp.call' && record['caller'] === `mcp:${name}` && record['transport'] === transport), {outcome: 'refused', code: 'RATE_LIMITED'});
	}

	// Another token has its own counters.
	const otherToken = await createToken(fleet.paths, 'pair-per-minute-other', ['quick'], ['env=staging']);
	const other = await connect(fleet, otherToken, 'http');
	t.teardown(async () => other.close());
	t.is((await other.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as any).isError, undefined);
});

test('a client process killed while its call runs does not keep the token\'s slot', async t => {
	const name = 'pair-killed';
	const [one, two] = await clients(t, name, ['stdio', 'http']);
	const held = await holdSlot(one, `mcp:${name}`);
	// The client sees its connection close when its server is killed.
	const lost = held.answer.then(() => 'answered', () => 'connection lost');
	const refused = await two.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as any;
	t.regex(refused.content[0].text, /^RATE_LIMITED: Refused: token pair-killed already has 1 call running/);
	// SIGKILL: no chance to end its call in the ledger; the ledger sees its holder is gone.
	process.kill(one.pid!, 'SIGKILL');
	const after = await waitForOk(async () => two.client.callTool({name: 'quick', arguments: {on: ['web1']}}) as Promise<any>);
	t.is(after.structuredContent.results[0].status, 'ok');
	t.is(await lost, 'connection lost');
});

/** Calls until the answer is not a RATE_LIMITED refusal (a slot frees once the other call's end is recorded). */
async function waitForOk(call: () => Promise<any>): Promise<any> {
	for (let attempt = 0; attempt < 600; attempt++) {
		const answer = await call();
		if (!(answer.isError && String(answer.content?.[0]?.text).startsWith('RATE_LIMITED'))) {
			return answer;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	throw new Error('the slot was never freed');
}
