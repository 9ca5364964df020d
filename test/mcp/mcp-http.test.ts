/**
 * /mcp on `xi-exec serve`, asked with a plain HTTPS client: a browser Origin not in the configured
 * list is refused (DNS rebinding), a session answers only the token that opened it, an unknown
 * session is 404, and a revoked token is refused by the global authentication at once. Also the
 * per-token limits: calls per minute, across two sessions of one token.
 */
import test from 'ava';
import {tokenRevoke} from '../../source/commands/token.js';
import {call} from '../api/api-fleet.js';
import {connect, createToken, startMcpFleet, type McpFleet} from './mcp-fleet.js';

let fleet: McpFleet;
let alice: string;
let bob: string;

test.before(async () => {
	fleet = await startMcpFleet([{name: 'web1', tags: ['env=staging'], scripts: {uptime: {body: '#!/bin/sh\necho up\n', readOnly: true}}}], {allowedOrigins: ['https://agents.example'], callsPerMinute: 3});
	alice = await createToken(fleet.paths, 'alice', ['uptime'], ['env=staging']);
	bob = await createToken(fleet.paths, 'bob', ['uptime'], ['env=staging']);
});

test.after.always(async () => {
	await fleet?.close();
});

const accept = {accept: 'application/json, text/event-stream'};
const initialize = {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}};

async function openSession(token: string): Promise<string> {
	const answer = await call(fleet, 'POST', '/mcp', {token, body: initialize, headers: accept});
	const id = answer.headers['mcp-session-id'];
	if (answer.status !== 200 || typeof id !== 'string') {
		throw new Error(`initialize: ${answer.status} ${answer.text}`);
	}

	await call(fleet, 'POST', '/mcp', {token, body: {jsonrpc: '2.0', method: 'notifications/initialized'}, headers: {...accept, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18'}});
	return id;
}

const listTools = {jsonrpc: '2.0', id: 2, method: 'tools/list', params: {}};

test('an Origin not in mcp.allowedOrigins is refused; a listed one is served', async t => {
	for (const origin of ['https://evil.example', 'http://agents.example', 'https://agents.example.evil.example', 'null']) {
		const answer = await call(fleet, 'POST', '/mcp', {token: alice, body: initialize, headers: {...accept, origin}});
		t.is(answer.status, 403, origin);
		t.is(answer.json().error.code, 'ORIGIN_REFUSED', origin);
	}

	const allowed = await call(fleet, 'POST', '/mcp', {token: alice, body: initialize, headers: {...accept, origin: 'https://agents.example'}});
	t.is(allowed.status, 200, allowed.text);
	// Without a token the Origin does not matter: the global authentication refuses first.
	t.is((await call(fleet, 'POST', '/mcp', {body: initialize, headers: {...accept, origin: 'https://agents.example'}})).status, 401);
});

test('a session answers only the token that opened it; an unknown session is 404', async t => {
	const id = await openSession(alice);
	const headers = {...accept, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18'};
	const mine = await call(fleet, 'POST', '/mcp', {token: alice, body: listTools, headers});
	t.is(mine.status, 200);
	t.regex(mine.text, /"name":"uptime"/);
	const theirs = await call(fleet, 'POST', '/mcp', {token: bob, body: listTools, headers});
	t.is(theirs.status, 403);
	t.is(theirs.json().error.code, 'OUT_OF_SCOPE');
	t.regex(theirs.json().error.message, /opened with another token/);
	const gone = await call(fleet, 'POST', '/mcp', {token: alice, body: listTools, headers: {...headers, 'mcp-session-id': 'f0f0f0f0-0000-4000-8000-000000000000'}});
	t.is(gone.status, 404);
	t.is(gone.json().error.code, 'MCP_SESSION_UNKNOWN');
	const notInitialize = await call(fleet, 'POST', '/mcp', {token: alice, body: listTools, headers: accept});
	t.is(notInitialize.status, 400);
	t.is(notInitialize.json().error.code, 'USAGE');
});

test('a revoked token is refused by the global authentication, session or not', async t => {
	const carol = await createToken(fleet.paths, 'carol', ['uptime'], ['env=staging']);
	const id = await openSession(carol);
	await tokenRevoke(fleet.paths, 'carol', {stdout: () => undefined, stderr: () => undefined, onInterrupt: () => undefined});
	const answer = await call(fleet, 'POST', '/mcp', {token: carol, body: listTools, headers: {...accept, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18'}});
	t.is(answer.status, 401);
	t.regex(answer.json().error.message, /revoked/);
});

test('calls per minute hold per token, across its sessions', async t => {
	const dave = await createToken(fleet.paths, 'dave', ['uptime'], ['env=staging']);
	const first = await connect(fleet, dave, 'http');
	const second = await connect(fleet, dave, 'http');
	t.teardown(async () => {
		await first.close();
		await second.close();
	});
	const answers = [];
	for (const client of [first.client, second.client, first.client, second.client]) {
		answers.push(await client.callTool({name: 'uptime', arguments: {on: ['web1']}}) as {isError?: boolean; content: Array<{text: string}>});
	}

	t.deepEqual(answers.map(answer => answer.isError ?? false), [false, false, false, true]);
	t.regex(answers[3]!.content[0]!.text, /^RATE_LIMITED: Refused: token dave made 3 calls in the last minute, its limit \(callsPerMinute 3\); call again in \d+ s\.$/);
	// Another token has its own count.
	const other = await connect(fleet, bob, 'http');
	t.teardown(async () => other.close());
	t.falsy(((await other.client.callTool({name: 'uptime', arguments: {on: ['web1']}})) as {isError?: boolean}).isError);
});
