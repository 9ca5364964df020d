/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * The central policy endpoint the agents' reference hook calls, over the API's real HTTPS
 * listener, authenticated by the agent's own certificate; and the client the hook uses
 * (askControllerPolicy), against the real endpoint and against servers that misbehave.
 */
import {readFileSync} from 'node:fs';
import {createServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {askControllerPolicy, policyServerName, readAnswer} from '../../source/io/policy-client.js';
import type {PolicyContext} from '../../source/api/policy-decision.js';
import {tokenRevoke} from '../../source/commands/token.js';
import {loadCertificateAuthority, loadControllerCredentials, openControllerRegistry, type TlsCredentials} from '../../source/home.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, privateKeyToPem} from '../../source/pki/index.js';
import {controllerCli, runCli} from '../helpers/fleet.js';
import {call, createToken, loadServerCredentials, startApiFleet, type ApiFleet} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n'};
let fleet: ApiFleet;
let admin: string;
let contractor: {token: string; id: string};
let web1: TlsCredentials;
let web2: TlsCredentials;
let url: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['env=production', 'site=london'], scripts: {hello}},
		{name: 'web2', tags: ['env=production', 'site=paris'], scripts: {hello}},
	]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	contractor = await createToken(fleet.paths, 'contractor', ['hello'], ['env=production']);
	const credentials = (index: number): TlsCredentials => {
		const paths = agentPaths(fleet.agents[index]!.home);
		return {key: readFileSync(paths.key, 'utf8'), cert: readFileSync(paths.cert, 'utf8'), ca: readFileSync(paths.ca, 'utf8')};
	};

	web1 = credentials(0);
	web2 = credentials(1);
	url = `https://127.0.0.1:${fleet.port}`;
});

test.after.always(async () => {
	await fleet?.close();
});

/** A run through the API with a token, and the hook context an agent would build for it. */
async function runWithToken(token: string, id: string, args: string[] = ['x']): Promise<PolicyContext> {
	const run = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', args, on: ['env=production']}});
	if (run.status !== 200) {
		throw new Error(run.text);
	}

	return context(run.json().requestId, 'web1', {id, name: 'contractor'}, args);
}

function context(requestId: string, agent: string, token: PolicyContext['token'], args = ['x']): PolicyContext {
	return {requestId, agent: {name: agent, tags: {env: 'production'}}, script: 'hello', args, caller: 'api:contractor', token, source: '127.0.0.1', timestamp: new Date().toISOString(), dryRun: false};
}

const ask = async (asked: PolicyContext, credentials = web1) => askControllerPolicy(asked, {controller: url, credentials});

test.serial('a valid token allows; revoked, it is denied on the very next call', async t => {
	const asked = await runWithToken(contractor.token, contractor.id);
	const allowed = await ask(asked);
	t.deepEqual(allowed, {allow: true, reason: 'token contractor may run hello on web1'});
	t.true((await ask({...asked, agent: {name: 'web2', tags: {}}}, web2)).allow);

	// The same answer over a plain request: JSON in, {"allow", "reason"} out.
	const raw = await call(fleet, 'POST', '/v1/policy/check', {body: asked, key: web1.key, cert: web1.cert});
	t.is(raw.status, 200, raw.text);
	t.deepEqual(raw.json(), allowed);

	await tokenRevoke(fleet.paths, 'contractor', {stdout: () => undefined, stderr: () => undefined, onInterrupt: () => undefined});
	const denied = await ask(asked);
	t.false(denied.allow);
	t.regex(denied.reason, /^token contractor was revoked at /);

	// Every decision is in the controller's audit trail, with its reason.
	const audit = (await call(fleet, 'GET', `/v1/audit?request=${asked.requestId}`, {token: admin})).json().records as any[];
	const decisions = audit.filter(record => record.event === 'policy.decision');
	t.deepEqual(decisions.map(record => [record.agent, record.allowed]), [['web1', true], ['web2', true], ['web1', true], ['web1', false]]);
	t.regex(decisions.at(-1).reason, /revoked/);
	t.is(decisions[0].token.id, contractor.id);
});

test('a token whose scope no longer includes the agent (retagged in the registry) is denied', async t => {
	const token = await createToken(fleet.paths, 'retag', ['hello'], ['site=paris']);
	const run = await call(fleet, 'POST', '/v1/runs', {token: token.token, body: {script: 'hello', args: ['x'], on: ['web2']}});
	t.is(run.status, 200, run.text);
	const asked = {...context(run.json().requestId, 'web2', {id: token.id, name: 'retag'}), caller: 'api:retag'};
	t.true((await ask(asked, web2)).allow);
	await openControllerRegistry(fleet.paths).update(registry => ({...registry, agents: registry.agents.map(agent => (agent.name === 'web2' ? {...agent, tags: {...agent.tags, site: 'berlin'}} : agent))}));
	try {
		const denied = await ask(asked, web2);
		t.false(denied.allow);
		t.regex(denied.reason, /token retag may not reach web2 \(its scope is --on site=paris\)/);
	} finally {
		await openControllerRegistry(fleet.paths).update(registry => ({...registry, agents: registry.agents.map(agent => (agent.name === 'web2' ? {...agent, tags: {...agent.tags, site: 'paris'}} : agent))}));
	}
});

test('what the agent reports must match what the controller sent: request, script, arguments, agent, token', async t => {
	const token = await createToken(fleet.paths, 'matcher', ['hello'], ['env=production']);
	const asked = {...await runWithToken(token.token, token.id, ['one']), token: {id: token.id, name: 'matcher'}};
	t.true((await ask(asked)).allow);
	const cases: Array<[string, PolicyContext, RegExp, TlsCredentials?]> = [
		['an unknown request', {...asked, requestId: '00000000-0000-4000-8000-00000000beef'}, /no record of request/],
		['other arguments', {...asked, args: ['two']}, /arguments differ/],
		['another script', {...asked, script: 'other'}, /was for hello, not other/],
		['another agent\'s name', {...asked, agent: {name: 'web2', tags: {}}}, /agent web1 asked about a run on web2/],
		['no token for a request made with one', {...asked, token: null}, /made with token matcher, but the agent reports none/],
		['another token', {...asked, token: {id: contractor.id, name: 'contractor'}}, /not the one it was made with/],
		['a dry run it was not', {...asked, dryRun: true}, /was not a dry run/],
	];
	for (const [what, changed, reason, credentials] of cases) {
		const answer = await ask(changed, credentials);
		t.false(answer.allow, what);
		t.regex(answer.reason, reason, what);
	}
});

test('no token: allowed only when the controller recorded the request without one (an operator\'s run)', async t => {
	const cli = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--json', '--', 'x'], {XI_EXEC_HOME: fleet.home});
	t.is(cli.code, 0, cli.stderr);
	const {requestId} = JSON.parse(cli.stdout) as {requestId: string};
	const asked = {...context(requestId, 'web1', null), caller: 'someone'};
	const answer = await ask(asked);
	t.true(answer.allow, answer.reason);
	t.regex(answer.reason, /^no token: a run requested by .+@.+ with the controller's own certificate$/);
	t.false((await ask({...asked, token: {id: contractor.id}})).allow);
});

test('the endpoint takes only a paired agent\'s certificate: none, the controller\'s, a foreign CA\'s, an unpaired or superseded one get 401', async t => {
	const body = context('00000000-0000-4000-8000-000000000001', 'web1', null);
	const fleetCa = await loadCertificateAuthority(fleet.paths);
	const foreignKeys = await generateKeyPair();
	const foreignCa = {certificate: await createCertificateAuthority({keys: foreignKeys, now: new Date(), name: 'someone else'}), privateKey: foreignKeys.privateKey};
	const mint = async (ca: typeof fleetCa, name: string) => {
		const keys = await generateKeyPair();
		const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'agent', name}, now: new Date()});
		return {key: await privateKeyToPem(keys.privateKey), cert: certificate.toString('pem')};
	};

	const controller = loadControllerCredentials(fleet.paths);
	const cases: Array<[string, {key?: string; cert?: string; token?: string}, RegExp]> = [
		['no certificate', {}, /none was presented/],
		['no certificate, an admin token', {token: admin}, /none was presented/],
		['the controller\'s certificate', {key: controller.key, cert: controller.cert}, /names xi-exec:controller, not an agent/],
		['web1 by a foreign CA', await mint(foreignCa, 'web1'), /does not verify against the fleet CA/],
		['an unpaired agent', await mint(fleetCa, 'ghost'), /agent ghost is not registered/],
		['web1 with a serial that was never paired', await mint(fleetCa, 'web1'), /serial is not the one paired for web1/],
	];
	for (const [what, options, reason] of cases) {
		const answer = await call(fleet, 'POST', '/v1/policy/check', {body, ...options});
		t.is(answer.status, 401, `${what}: ${answer.text}`);
		t.is(answer.json().error.code, 'CLIENT_CERTIFICATE_REQUIRED', what);
		t.regex(answer.json().error.message, reason, what);
	}

	// Through the client, a 401 is a denial with the endpoint's reason.
	const denied = await askControllerPolicy(body, {controller: url, credentials: {...controller, ca: web1.ca}});
	t.false(denied.allow);
	t.regex(denied.reason, /refused the check \(401: .*not an agent/);
	// And a body that is not a hook context is a 400 naming the field, for an agent too.
	const bad = await call(fleet, 'POST', '/v1/policy/check', {body: {...body, dryRun: 'no'}, key: web1.key, cert: web1.cert});
	t.is(bad.status, 400);
	t.regex(bad.json().error.message, /body field dryRun must be boolean/);
});

/** A throwaway HTTPS server with the given certificate, answering every request with `answer`. */
async function fakeEndpoint(credentials: {key: string; cert: string}, answer: (response: import('node:http').ServerResponse) => void): Promise<{url: string; server: Server}> {
	const server = createServer({key: credentials.key, cert: credentials.cert, minVersion: 'TLSv1.3'}, (request, response) => {
		request.resume();
		answer(response);
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	return {url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server};
}

test('the client fails closed: unreachable, a redirect, silence, a huge or malformed answer, the wrong identity all deny', async t => {
	const body = context('00000000-0000-4000-8000-000000000002', 'web1', null);
	const serverCredentials = loadServerCredentials(fleet.paths);
	const json = (status: number, text: string, type = 'application/json') => (response: import('node:http').ServerResponse) => {
		response.writeHead(status, {'content-type': type});
		response.end(text);
	};

	const cases: Array<[string, {key: string; cert: string}, (response: import('node:http').ServerResponse) => void, RegExp]> = [
		['a redirect', serverCredentials, response => {
			response.writeHead(302, {location: url});
			response.end();
		}, /redirect \(302\), which is not followed/],
		['a huge answer', serverCredentials, json(200, JSON.stringify({allow: true, reason: 'x'.repeat(200_000)})), /over 65536 bytes/],
		['not JSON', serverCredentials, json(200, 'allow'), /not JSON/],
		['two keys too many', serverCredentials, json(200, JSON.stringify({allow: true, reason: 'ok', also: 1})), /not \{"allow": boolean, "reason": string\}/],
		['allow as a string', serverCredentials, json(200, JSON.stringify({allow: 'true', reason: 'ok'})), /not \{"allow"/],
		['text/plain', serverCredentials, json(200, JSON.stringify({allow: true, reason: 'ok'}), 'text/plain'), /not application\/json/],
		['a 500', serverCredentials, json(500, JSON.stringify({error: {code: 'INTERNAL', message: 'boom'}})), /refused the check \(500: boom\)/],
		['an agent\'s certificate instead of the server\'s', web2, json(200, JSON.stringify({allow: true, reason: 'ok'})), /cannot be reached \(.*\)|xi-exec:agent certificate, not xi-exec:server/],
		['silence', serverCredentials, () => undefined, /did not answer within 0.5 s/],
	];
	for (const [what, credentials, answer, reason] of cases) {
		const fake = await fakeEndpoint(credentials, answer);
		try {
			const decision = await askControllerPolicy(body, {controller: fake.url, credentials: web1, timeoutMs: what === 'silence' ? 500 : 10_000});
			t.false(decision.allow, what);
			t.regex(decision.reason, reason, what);
		} finally {
			fake.server.closeAllConnections();
			fake.server.close();
		}
	}

	const allowedByFake = await fakeEndpoint(serverCredentials, json(200, JSON.stringify({allow: true, reason: 'fine'})));
	try {
		t.deepEqual(await askControllerPolicy(body, {controller: allowedByFake.url, credentials: web1}), {allow: true, reason: 'fine'}, 'the well-formed answer from a fleet server certificate is taken');
	} finally {
		allowedByFake.server.close();
	}

	const unreachable = await askControllerPolicy(body, {controller: 'https://127.0.0.1:1', credentials: web1});
	t.false(unreachable.allow);
	t.regex(unreachable.reason, /cannot be reached \(ECONNREFUSED\)/);
	for (const controller of ['http://127.0.0.1:1', 'https://user:pw@127.0.0.1:1', 'https://127.0.0.1:1/?token=x', 'not a url']) {
		t.false((await askControllerPolicy(body, {controller, credentials: web1})).allow, controller);
	}
});

test('readAnswer takes exactly {"allow": boolean, "reason": string} with 200', t => {
	t.deepEqual(readAnswer(200, 'application/json; charset=utf-8', '{"allow":false,"reason":"no"}'), {allow: false, reason: 'no'});
	t.false(readAnswer(200, 'application/json', '[true]').allow);
	t.false(readAnswer(200, 'application/json', 'null').allow);
	t.false(readAnswer(200, 'application/json', '{"allow":true}').allow);
	t.false(readAnswer(201, 'application/json', '{"allow":true,"reason":"x"}').allow);
});

test('with an operator\'s certificate for the REST API, agents\' policy calls still get the fleet certificate (by SNI)', async t => {
	const keys = await generateKeyPair();
	const operatorCa = {certificate: await createCertificateAuthority({keys, now: new Date(), name: 'operator CA'}), privateKey: keys.privateKey};
	const apiKeys = await generateKeyPair();
	const apiCertificate = await issueCertificate({ca: operatorCa, publicKey: apiKeys.publicKey, identity: {role: 'server'}, now: new Date(), ipAddresses: ['127.0.0.1']});
	const {createApiServer} = await import('../../source/api/server.js');
	const server = await createApiServer({
		paths: fleet.paths,
		server: loadServerCredentials(fleet.paths),
		client: loadControllerCredentials(fleet.paths),
		apiCertificate: {key: await privateKeyToPem(apiKeys.privateKey), cert: apiCertificate.toString('pem')},
		log: () => undefined,
	});
	const {port} = await server.listen('127.0.0.1', 0);
	try {
		const operator = {port, ca: operatorCa.certificate.toString('pem')};
		t.is((await call(operator, 'GET', '/healthz')).status, 200, 'a client trusting the operator\'s CA gets the operator\'s certificate');
		await t.throwsAsync(call({port, ca: fleet.ca}, 'GET', '/healthz'), {code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'});
		const token = await createToken(fleet.paths, 'sni', ['hello'], ['web1']);
		const run = await call(operator, 'POST', '/v1/runs', {token: token.token, body: {script: 'hello', args: ['x'], on: ['web1']}});
		t.is(run.status, 200, run.text);
		const answer = await askControllerPolicy({...context(run.json().requestId, 'web1', {id: token.id, name: 'sni'}), caller: 'api:sni'}, {controller: `https://127.0.0.1:${port}`, credentials: web1});
		t.deepEqual(answer, {allow: true, reason: 'token sni may run hello on web1'});
		t.is(policyServerName, 'xi-exec-policy.invalid');
	} finally {
		await server.close();
	}
});
