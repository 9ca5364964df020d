/**
 * Where `xi-exec run` takes the caller's token from, over the real CLI and a real agent:
 * XI_EXEC_TOKEN, --token-file (refused when its group or others may read it, with the chmod to
 * run), --token (works, but warns that it shows in `ps`). The token itself never reaches the
 * output or the audit trail.
 */
import {chmodSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {tokenFlagWarning} from '../../source/cli/read-token.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';

test('the token comes from XI_EXEC_TOKEN, a private --token-file, or --token with a warning', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'tok1', port: freePort(), tags: ['site=london'], scripts: {hello: installScript('hello', '#!/bin/sh\necho hello\n')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const created = await runCli(controllerCli, ['token', 'create', '--name', 'contractor', '--scripts', 'hello', '--on', 'site=london', '--json'], env);
	t.is(created.code, 0, created.stderr);
	const {token} = JSON.parse(created.stdout) as {token: string};
	const other = JSON.parse((await runCli(controllerCli, ['token', 'create', '--name', 'other', '--scripts', 'other-script', '--on', 'all', '--json'], env)).stdout) as {token: string};

	const directory = temporaryDirectory('xi-exec-token-');
	const file = (name: string, mode: number, text = `${token}\n`) => {
		const path = join(directory, name);
		writeFileSync(path, text);
		chmodSync(path, mode);
		return path;
	};

	const link = join(directory, 'link');
	symlinkSync(file('target', 0o600), link);
	const cases: Array<{what: string; args: string[]; env?: Record<string, string>; code: number; stderr: RegExp | string}> = [
		{what: 'XI_EXEC_TOKEN', args: [], env: {XI_EXEC_TOKEN: token}, code: 0, stderr: ''},
		{what: '--token-file 0600', args: ['--token-file', file('private', 0o600)], code: 0, stderr: ''},
		{what: '--token-file 0400', args: ['--token-file', file('read-only', 0o400)], code: 0, stderr: ''},
		{what: '--token (warns)', args: ['--token', token], code: 0, stderr: tokenFlagWarning},
		{what: '--token-file 0644', args: ['--token-file', file('world', 0o644)], code: 2, stderr: /is open to its group and others \(mode 0644\); run `chmod 600 .*\/world` and try again/},
		{what: '--token-file 0604', args: ['--token-file', file('others', 0o604)], code: 2, stderr: /is open to others \(mode 0604\); run `chmod 600 .*\/others`/},
		{what: '--token-file 0640', args: ['--token-file', file('group', 0o640)], code: 2, stderr: /is open to its group \(mode 0640\); run `chmod 600 .*\/group`/},
		{what: '--token-file through a symbolic link', args: ['--token-file', link], code: 2, stderr: /Cannot read the token file .*: ELOOP \(a symbolic link: give the file itself\)/},
		{what: '--token-file missing', args: ['--token-file', join(directory, 'missing')], code: 2, stderr: /Cannot read the token file .*: ENOENT/},
		{what: '--token-file empty', args: ['--token-file', file('empty', 0o600, '\n')], code: 2, stderr: /Token refused: the token file .* is empty/},
		{what: '--token-file and --token', args: ['--token-file', file('both', 0o600), '--token', token], code: 2, stderr: /Give --token-file or --token, not both/},
		{what: 'a file wins over XI_EXEC_TOKEN', args: ['--token-file', file('scoped-other', 0o600, other.token)], env: {XI_EXEC_TOKEN: token}, code: 2, stderr: /Refused before running anything: .*hello/},
		{what: 'an unknown token in XI_EXEC_TOKEN', args: [], env: {XI_EXEC_TOKEN: 'xi_not-a-token'}, code: 2, stderr: /Token refused: /},
	];
	for (const {what, args, env: extra, code, stderr} of cases) {
		const run = await runCli(controllerCli, ['run', 'hello', '--on', 'tok1', ...args], {...env, ...extra});
		t.is(run.code, code, `${what}: ${run.stderr}`);
		if (typeof stderr === 'string') {
			t.is(run.stderr, stderr, what);
		} else {
			t.regex(run.stderr, stderr, what);
		}

		t.is(run.stdout.includes('hello'), code === 0, what);
		t.false(run.stdout.includes(token) || run.stderr.includes(token), `${what}: the token is not echoed`);
	}

	const records = readFileSync(join(controller, 'audit', 'controller.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as {event: string; token?: {name: string}});
	t.deepEqual(records.filter(record => record.event === 'run.request').map(record => record.token?.name), ['contractor', 'contractor', 'contractor', 'contractor'], 'the four accepted runs were made with the token');
	for (const name of readdirSync(join(controller, 'audit'))) {
		t.false(readFileSync(join(controller, 'audit', name), 'utf8').includes(token), `${name} does not hold the token`);
	}
});
