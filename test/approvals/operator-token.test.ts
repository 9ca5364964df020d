/** Operator tokens: `--operator` marks the token (and its audit record); a plain token is not one. */
import {readFileSync} from 'node:fs';
import test from 'ava';
import {createToken, listTokens} from '../../source/core/tokens.js';
import {controllerPaths} from '../../source/home.js';
import {openTokenStore} from '../../source/policy/token-store.js';
import {createController} from '../helpers/fleet.js';

test('an operator token defaults to every script on every agent, and says it is one wherever it is shown', async t => {
	const paths = controllerPaths(await createController());
	const now = new Date();
	const alice = await createToken({paths, now}, {name: 'alice', scripts: [], on: [], operator: true}, {caller: 'root@ops'});
	t.like(alice, {name: 'alice', scripts: ['*'], on: ['all'], operator: true});
	const ci = await createToken({paths, now}, {name: 'ci', scripts: ['uptime'], on: ['all']}, {caller: 'root@ops'});
	t.false(ci.operator);
	const stored = (await openTokenStore(paths.home).read()).tokens;
	t.deepEqual(stored.map(token => [token.name, token.operator]), [['alice', true], ['ci', undefined]]);
	t.deepEqual((await listTokens({paths, now})).map(view => [view.name, view.operator]), [['alice', true], ['ci', false]]);
	const created = readFileSync(paths.auditLog, 'utf8').split('\n').filter(line => line.includes('"token.created"')).map(line => JSON.parse(line) as {name: string; operator?: boolean});
	t.deepEqual(created.map(record => [record.name, record.operator]), [['alice', true], ['ci', undefined]]);
});

test('a token that is not an operator\'s still needs its scripts and agents named', async t => {
	const paths = controllerPaths(await createController());
	await t.throwsAsync(createToken({paths, now: new Date()}, {name: 'ci', scripts: [], on: ['all']}, {caller: 'root@ops'}), {code: 'USAGE'} as never);
});
