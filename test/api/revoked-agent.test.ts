/** A revoked agent certificate (a registry restored from before an unpairing) is refused by the REST API's discovery too, as by the run flow. */
import test from 'ava';
import {openControllerRegistry} from '../../source/home.js';
import {call, createToken, startApiFleet, type ApiFleet} from './api-fleet.js';

let fleet: ApiFleet;
test.before(async () => {
	fleet = await startApiFleet([{name: 'keep1', scripts: {hello: {body: '#!/bin/sh\necho hi\n'}}}, {name: 'stale1', scripts: {hello: {body: '#!/bin/sh\necho hi\n'}}}]);
});
test.after.always(async () => {
	await fleet?.close();
});

test('GET /v1/agents and a run refuse an agent whose certificate serial is revoked', async t => {
	const {token} = await createToken(fleet.paths, 'admin', ['*'], ['all']);
	const store = openControllerRegistry(fleet.paths);
	const stale = (await store.read()).agents.find(agent => agent.name === 'stale1')!;
	await store.update(registry => ({...registry, revoked: [{serial: stale.serial, agent: 'stale1', reason: 'unpaired', at: new Date().toISOString()}]}));

	const listed = await call(fleet, 'GET', '/v1/agents', {token});
	t.is(listed.status, 200, listed.text);
	const agents = listed.json().agents as Array<{name: string; status: string; reason?: string}>;
	t.like(agents.find(agent => agent.name === 'keep1'), {status: 'reachable'});
	t.like(agents.find(agent => agent.name === 'stale1'), {status: 'unreachable'});
	t.regex(agents.find(agent => agent.name === 'stale1')!.reason!, new RegExp(`certificate serial ${stale.serial}, which is revoked`));

	const run = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', args: [], on: ['stale1']}});
	t.is(run.status, 200, run.text);
	t.like(run.json().results[0], {agent: 'stale1', status: 'unreachable'});
});
