/** A long-running `xi-exec serve` follows a controller rotation done by another process: agents that retired the old serial stay reachable through the API. */
import test from 'ava';
import {controllerCli, runCli} from '../helpers/fleet.js';
import {call, createToken, startApiFleet, type ApiFleet} from './api-fleet.js';

let fleet: ApiFleet;
test.before(async () => {
	fleet = await startApiFleet([{name: 'follow1', scripts: {hello: {body: '#!/bin/sh\necho hi\n'}}}]);
});
test.after.always(async () => {
	await fleet?.close();
});

test('after xi-exec rotate and a contact with the new certificate, the API still reaches and runs on the agent', async t => {
	const {token} = await createToken(fleet.paths, 'admin', ['*'], ['all']);
	t.like((await call(fleet, 'GET', '/v1/agents', {token})).json().agents[0], {name: 'follow1', status: 'reachable'});

	const rotated = await runCli(controllerCli, ['rotate', '--home', fleet.home]);
	t.is(rotated.code, 0, rotated.stdout + rotated.stderr);
	// The agent sees the new certificate once, and retires the old serial.
	t.is((await runCli(controllerCli, ['run', 'hello', '--on', 'follow1', '--home', fleet.home])).code, 0);

	const listed = (await call(fleet, 'GET', '/v1/agents', {token})).json().agents[0];
	t.like(listed, {name: 'follow1', status: 'reachable'}, JSON.stringify(listed));
	const run = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', args: [], on: ['follow1']}});
	t.like(run.json().results[0], {agent: 'follow1', status: 'ok'});
});
