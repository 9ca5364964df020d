/**
 * Every registered route and method, asked with no token, a bad token and an out-of-scope token:
 * 401/403 everywhere except /healthz and the static /docs files, and the policy endpoint, which
 * takes no token at all, only an agent's certificate. The table below must name every route the
 * server registered, so a route added later without a decision here fails this test.
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {Ajv2020} from 'ajv/dist/2020.js';
import {errorSchema} from '../../source/api/schemas.js';
import {call, createToken, startApiFleet, type Answer, type ApiFleet} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho hello "$@"\n'};
let fleet: ApiFleet;
let admin: string;
let outOfScope: string;
let runId: string;
let runbookRunId: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['env=production'], scripts: {hello}},
		{name: 'web2', tags: ['env=staging'], scripts: {hello}},
	]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	// May run hello, on web2 only: every request below reaches web1 or needs more than that.
	outOfScope = (await createToken(fleet.paths, 'contractor', ['hello'], ['web2'])).token;
	await createToken(fleet.paths, 'victim', ['hello'], ['web1']);
	const run = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', on: ['all']}});
	runId = run.json().requestId as string;
	mkdirSync(join(fleet.home, 'runbooks'));
	writeFileSync(join(fleet.home, 'runbooks', 'greet.yaml'), 'steps:\n  - {name: a, script: hello, on: all}\n');
	runbookRunId = (await call(fleet, 'POST', '/v1/runbooks/greet/runs', {token: admin, body: {}})).json().id as string;
});

test.after.always(async () => {
	await fleet?.close();
});

/**
 * `mcp`: the MCP face (/mcp) takes any valid token, whatever its scope (the scope then limits the
 * tools it sees), and answers `mcp` with that token; without a session only POST initialize does.
 */
type Sample = {path: () => string; body?: unknown; public?: true; agentOnly?: true; headers?: Record<string, string>; mcp?: {status: number; code?: string}; /** /v1/approvals: any valid token (a requester follows its own request; approving needs an operator token, test/approvals/approvals-api.test.ts), answering this to the out-of-scope one. */ anyToken?: {status: number; code?: string}};

const initialize = {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'route-walk', version: '1'}}};
const mcpHeaders = {accept: 'application/json, text/event-stream'};

const samples: Record<string, Sample> = {
	'GET /healthz': {path: () => '/healthz', public: true},
	'GET /docs': {path: () => '/docs', public: true},
	'GET /docs/docs.js': {path: () => '/docs/docs.js', public: true},
	'GET /docs/docs.css': {path: () => '/docs/docs.css', public: true},
	'GET /metrics': {path: () => '/metrics'},
	'GET /openapi.json': {path: () => '/openapi.json'},
	'GET /v1/agents': {path: () => '/v1/agents'},
	'POST /v1/runs': {path: () => '/v1/runs', body: {script: 'hello', on: ['all']}},
	'POST /v1/scripts/:script': {path: () => '/v1/scripts/hello', body: {on: ['all']}},
	'GET /v1/runs': {path: () => '/v1/runs'},
	'GET /v1/runs/:id': {path: () => `/v1/runs/${runId}`},
	'GET /v1/runs/:id/events': {path: () => `/v1/runs/${runId}/events`},
	'POST /v1/runs/:id/cancel': {path: () => `/v1/runs/${runId}/cancel`},
	'GET /v1/audit': {path: () => `/v1/audit?request=${runId}`},
	'GET /v1/tokens': {path: () => '/v1/tokens'},
	'POST /v1/tokens': {path: () => '/v1/tokens', body: {name: 'made-by-walk', scripts: ['hello'], on: ['web2']}},
	'DELETE /v1/tokens/:name': {path: () => '/v1/tokens/victim'},
	'GET /v1/runbooks': {path: () => '/v1/runbooks'},
	'POST /v1/runbooks/:name/runs': {path: () => '/v1/runbooks/greet/runs', body: {}},
	'GET /v1/runbook-runs': {path: () => '/v1/runbook-runs'},
	'GET /v1/runbook-runs/:id': {path: () => `/v1/runbook-runs/${runbookRunId}`},
	'GET /v1/runbook-runs/:id/events': {path: () => `/v1/runbook-runs/${runbookRunId}/events`},
	'POST /v1/runbook-runs/:id/cancel': {path: () => `/v1/runbook-runs/${runbookRunId}/cancel`},
	'POST /v1/runbook-runs/:id/resume': {path: () => `/v1/runbook-runs/${runbookRunId}/resume`, body: {from: 'a'}},
	'POST /mcp': {path: () => '/mcp', body: initialize, headers: mcpHeaders, mcp: {status: 200}},
	'GET /mcp': {path: () => '/mcp', headers: mcpHeaders, mcp: {status: 400, code: 'USAGE'}},
	'DELETE /mcp': {path: () => '/mcp', headers: mcpHeaders, mcp: {status: 400, code: 'USAGE'}},
	'GET /v1/approvals': {path: () => '/v1/approvals', anyToken: {status: 200}},
	'GET /v1/approvals/:id': {path: () => '/v1/approvals/feedbeef', anyToken: {status: 404, code: 'APPROVAL_UNKNOWN'}},
	'POST /v1/approvals/:id/approve': {path: () => '/v1/approvals/feedbeef/approve', body: {}, anyToken: {status: 404, code: 'APPROVAL_UNKNOWN'}},
	'POST /v1/approvals/:id/run': {path: () => '/v1/approvals/feedbeef/run', body: {}, anyToken: {status: 404, code: 'APPROVAL_UNKNOWN'}},
	'POST /v1/approvals/:id/reject': {path: () => '/v1/approvals/feedbeef/reject', body: {reason: 'walk'}, anyToken: {status: 404, code: 'APPROVAL_UNKNOWN'}},
	'POST /v1/policy/check': {
		path: () => '/v1/policy/check',
		agentOnly: true,
		body: {requestId: '00000000-0000-4000-8000-000000000000', agent: {name: 'web1', tags: {}}, script: 'hello', args: [], caller: 'x', token: null, source: '127.0.0.1', timestamp: '2026-01-01T00:00:00Z', dryRun: false},
	},
};

const validateError = new Ajv2020({strict: false, allowUnionTypes: true}).compile(errorSchema);

function checkRefusal(t: import('ava').ExecutionContext, route: string, variant: string, answer: Answer, status: number, code: string) {
	t.is(answer.status, status, `${route} with ${variant}: ${answer.text}`);
	const body = answer.json();
	t.true(validateError(body), `${route} with ${variant}: the error shape`);
	t.is(body.error.code, code, `${route} with ${variant}`);
}

test('the table names every registered route, and nothing else', t => {
	t.deepEqual(fleet.server.routes.map(route => `${route.method} ${route.url}`).sort(), Object.keys(samples).sort());
});

test.serial('with no token, a bad token or an out-of-scope token every route refuses, except /healthz and /docs', async t => {
	const bad = 'xie_' + 'A'.repeat(32);
	for (const route of fleet.server.routes) {
		const key = `${route.method} ${route.url}`;
		const sample = samples[key]!;
		const variants: Array<[string, string | undefined]> = [['no token', undefined], ['a bad token', bad], ['an out-of-scope token', outOfScope]];
		for (const [variant, token] of variants) {
			const answer = await call(fleet, route.method, sample.path(), {...(token === undefined ? {} : {token}), ...(sample.body === undefined ? {} : {body: sample.body}), ...(sample.headers ? {headers: sample.headers} : {})});
			const anyToken = sample.mcp ?? sample.anyToken;
			if (anyToken && token === outOfScope) {
				t.is(answer.status, anyToken.status, `${key} with ${variant}: ${answer.text.slice(0, 200)}`);
				if (anyToken.code) {
					checkRefusal(t, key, variant, answer, anyToken.status, anyToken.code);
				}
			} else if (sample.public) {
				t.is(answer.status, 200, `${key} with ${variant}`);
			} else if (sample.agentOnly) {
				checkRefusal(t, key, variant, answer, 401, 'CLIENT_CERTIFICATE_REQUIRED');
			} else if (token === outOfScope) {
				checkRefusal(t, key, variant, answer, 403, 'OUT_OF_SCOPE');
			} else {
				checkRefusal(t, key, variant, answer, 401, 'TOKEN_INVALID');
			}
		}
	}

	// Nothing was created or revoked by any refused request.
	const tokens = (await call(fleet, 'GET', '/v1/tokens', {token: admin})).json().tokens as Array<{name: string; state: string}>;
	t.false(tokens.some(token => token.name === 'made-by-walk'));
	t.is(tokens.find(token => token.name === 'victim')?.state, 'active');
});

test.serial('with a token whose scope is everything, every token route answers (the table\'s requests are real ones)', async t => {
	for (const route of fleet.server.routes) {
		const key = `${route.method} ${route.url}`;
		const sample = samples[key]!;
		const anyToken = sample.mcp ?? sample.anyToken;
		if (sample.public || sample.agentOnly || route.method === 'DELETE' || (anyToken && anyToken.status !== 200)) {
			continue;
		}

		const answer = await call(fleet, route.method, sample.path(), {token: admin, ...(sample.body === undefined ? {} : {body: sample.body}), ...(sample.headers ? {headers: sample.headers} : {})});
		t.true([200, 201].includes(answer.status), `${key}: ${answer.status} ${answer.text.slice(0, 300)}`);
	}
});

test('an unknown path needs a token before it is even reported unknown', async t => {
	checkRefusal(t, 'GET /v1/nothing', 'no token', await call(fleet, 'GET', '/v1/nothing'), 401, 'TOKEN_INVALID');
	checkRefusal(t, 'GET /v1/nothing', 'a good token', await call(fleet, 'GET', '/v1/nothing', {token: admin}), 404, 'ROUTE_UNKNOWN');
	checkRefusal(t, 'PUT /v1/runs', 'no token', await call(fleet, 'PUT', '/v1/runs'), 401, 'TOKEN_INVALID');
});

test('a token is accepted only in the Authorization header, never in the URL', async t => {
	checkRefusal(t, 'GET /v1/agents?token=', 'a token in the URL', await call(fleet, 'GET', `/v1/agents?token=${admin}`), 401, 'TOKEN_INVALID');
	checkRefusal(t, 'GET /v1/agents?access_token=', 'a token in the URL and the header', await call(fleet, 'GET', `/v1/agents?access_token=${admin}`, {token: admin}), 401, 'TOKEN_INVALID');
	checkRefusal(t, 'GET /v1/agents', 'Basic auth', await call(fleet, 'GET', '/v1/agents', {headers: {authorization: `Basic ${Buffer.from(`x:${admin}`).toString('base64')}`}}), 401, 'TOKEN_INVALID');
	const answer = await call(fleet, 'GET', '/v1/agents?on=web2', {headers: {authorization: `bearer ${outOfScope}`}});
	t.is(answer.status, 200, 'the scheme name is case-insensitive');
});

test('no CORS without a configured origin list: no allow-origin header, and a preflight is just an unauthenticated request', async t => {
	const answer = await call(fleet, 'GET', '/v1/agents?on=web2', {token: outOfScope, headers: {origin: 'https://evil.example'}});
	t.is(answer.status, 200);
	t.is(answer.headers['access-control-allow-origin'], undefined);
	const preflight = await call(fleet, 'OPTIONS', '/v1/runs', {headers: {origin: 'https://evil.example', 'access-control-request-method': 'POST'}});
	t.is(preflight.status, 401);
	t.is(preflight.headers['access-control-allow-origin'], undefined);
});
