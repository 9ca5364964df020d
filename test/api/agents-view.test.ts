/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * One agents view: `xi-exec agents --json` and GET /v1/agents give the same document for the same
 * fleet (real agents, one of them stopped), field for field, from the one core function.
 */
import test from 'ava';
import {controllerCli, runCli} from '../helpers/fleet.js';
import {call, createToken, startApiFleet, type ApiFleet} from './api-fleet.js';

const schema = {type: 'array', prefixItems: [{enum: ['start', 'stop']}], minItems: 1, items: false};

let fleet: ApiFleet;
let admin: string;

test.before(async () => {
	fleet = await startApiFleet([
		{name: 'web1', tags: ['role=web'], scripts: {hello: {body: '#!/bin/sh\necho hello\n', description: 'Say hello'}, service: {body: '#!/bin/sh\necho "$1"\n', schema, confirm: true, maxTargets: 2}}},
		{name: 'web2', tags: ['role=web'], scripts: {hello: {body: '#!/bin/sh\necho hello\n'}}},
	]);
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	await fleet.agents[1]!.running.stop();
});

test.after.always(async () => {
	await fleet?.close();
});

/** Each reachable agent's lastSeen is the moment of its own listing: checked, then set aside. */
function seenNow(document: {agents: Array<Record<string, any>>}, since: Date): unknown {
	return {agents: document.agents.map(agent => {
		if (agent['status'] !== 'reachable') {
			return agent;
		}

		return {...agent, lastSeen: new Date(String(agent['lastSeen'])) >= new Date(since.toISOString().slice(0, 19)) ? 'seen by this listing' : agent['lastSeen']};
	})};
}

test('xi-exec agents --json and GET /v1/agents answer the same document', async t => {
	const since = new Date();
	const api = await call(fleet, 'GET', '/v1/agents', {token: admin});
	t.is(api.status, 200, api.text);
	const cli = await runCli(controllerCli, ['agents', '--json'], {XI_EXEC_HOME: fleet.home});
	t.is(cli.code, 0, cli.stderr);
	const fromCli = JSON.parse(cli.stdout) as {agents: Array<Record<string, any>>};
	t.deepEqual(seenNow(fromCli, since), seenNow(api.json(), since));
	t.deepEqual(fromCli.agents.map(agent => Object.keys(agent)), api.json().agents.map((agent: Record<string, unknown>) => Object.keys(agent)), 'the same fields in the same order');

	// The document says something: one reachable agent with both scripts, one unreachable with its reason.
	const [web1, web2] = fromCli.agents;
	t.like(web1, {name: 'web1', status: 'reachable', reason: null, tags: {role: 'web'}, drifted: false});
	t.deepEqual(web1!['scripts'], [
		{name: 'hello', description: 'Say hello', timeoutSeconds: web1!['scripts'][0].timeoutSeconds, args: null, schemaProblem: null, maxTargets: null, confirm: false},
		{name: 'service', description: 'test script service', timeoutSeconds: web1!['scripts'][1].timeoutSeconds, args: schema, schemaProblem: null, maxTargets: 2, confirm: true},
	]);
	t.like(web2, {name: 'web2', status: 'unreachable', scripts: [], reportedTags: null});
	t.regex(String(web2!['reason']), /connection refused/);
});
