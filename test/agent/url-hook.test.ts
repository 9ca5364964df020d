/**
 * The agent's hook at an https:// URL (auth-hook.ts askUrl, which loads node:https only when asked):
 * a real HTTPS server with the controller's server certificate, trusted through `ca`, answers
 * allow and deny; an error status, a certificate not trusted and an unreachable URL deny.
 */
import {readFileSync} from 'node:fs';
import {createServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {askHook, type HookContext} from '../../agent/auth-hook.js';
import {controllerPaths, loadServerCredentials} from '../../source/home.js';
import {createController} from '../helpers/fleet.js';

const context: HookContext = {requestId: '00000000-0000-4000-8000-000000000001', agent: {name: 'web1', tags: {}}, script: 'hello', args: [], caller: 'ops@here', token: null, source: '127.0.0.1', callerSource: null, timestamp: '2026-02-01T00:00:00.000Z', dryRun: false, approval: null};

async function endpoint(credentials: {key: string; cert: string}, status: number, body: string): Promise<{url: string; server: Server; asked: () => unknown}> {
	let asked: unknown;
	const server = createServer({key: credentials.key, cert: credentials.cert}, (request, response) => {
		let text = '';
		request.on('data', (chunk: Buffer) => {
			text += chunk.toString();
		});
		request.on('end', () => {
			asked = JSON.parse(text);
			response.writeHead(status, {'content-type': 'application/json'}).end(body);
		});
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	return {url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/check`, server, asked: () => asked};
}

const cases: Array<{name: string; status: number; body: string; trusted: boolean; allow: boolean; reason: RegExp}> = [
	{name: 'allows', status: 200, body: '{"allow": true, "reason": "ok by policy"}', trusted: true, allow: true, reason: /^ok by policy$/},
	{name: 'denies', status: 200, body: '{"allow": false, "reason": "change freeze"}', trusted: true, allow: false, reason: /^change freeze$/},
	{name: 'an error status denies', status: 500, body: '{"allow": true}', trusted: true, allow: false, reason: /answered HTTP 500$/},
	{name: 'a certificate not trusted denies', status: 200, body: '{"allow": true}', trusted: false, allow: false, reason: /cannot be reached/},
];

for (const c of cases) {
	test(`a URL hook that ${c.name}`, async t => {
		const paths = controllerPaths(await createController());
		const {url, server, asked} = await endpoint(loadServerCredentials(paths), c.status, c.body);
		t.teardown(() => server.close());
		const verdict = await askHook({url, timeoutMs: 10_000, ...(c.trusted ? {ca: readFileSync(paths.caCert, 'utf8')} : {})}, context);
		t.is(verdict.allow, c.allow);
		t.regex(verdict.reason, c.reason);
		if (c.trusted) {
			t.like(asked(), {requestId: context.requestId, script: 'hello', agent: {name: 'web1'}});
		}
	});
}

test('an unreachable URL hook denies', async t => {
	const verdict = await askHook({url: 'https://127.0.0.1:1/check', timeoutMs: 10_000}, context);
	t.false(verdict.allow);
	t.regex(verdict.reason, /cannot be reached \(ECONNREFUSED\)/);
});
