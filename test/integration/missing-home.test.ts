/**
 * Every command that reads a home refuses one that does not exist, or exists but was never
 * initialised, with NOT_INITIALISED (exit 2) naming the command that creates it — and leaves it
 * as it was (nothing created, not even a directory). Above all both `audit verify` commands: a
 * verification pointed at the wrong directory must never report success. Under --json the same
 * refusal is the JSON error on stdout.
 */
import {existsSync, mkdirSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCli, controllerCli, runCli, temporaryDirectory} from '../helpers/fleet.js';

const controllerCommands: string[][] = [
	['agents'],
	['tag', 'web1', 'role=web'],
	['untag', 'web1', 'role'],
	['run', 'hello', '--on', 'all'],
	['run', 'hello', '--on', 'all', '--dry-run'],
	['runs'],
	['runs', 'show', 'r-0000001'],
	['cancel', 'r-0000001'],
	['serve', '--listen', '127.0.0.1:0'],
	['pair', '--listen', '127.0.0.1:0'],
	['token', 'create', '--name', 'x', '--scripts', 'hello', '--on', 'all'],
	['token', 'list'],
	['token', 'revoke', 'x'],
	['audit'],
	['audit', 'verify'],
	['ca', 'fingerprint'],
	['ca', 'protect'],
	['renew'],
	['rotate'],
	['unpair', 'web1'],
	['doctor'],
];

const agentCommands: string[][] = [
	['allow', 'hello', '/bin/true'],
	['deny', 'hello'],
	['scripts'],
	['tag', 'set', 'role=web'],
	['tag', 'unset', 'role'],
	['pair', '--controller', '127.0.0.1:1', '--ca-sha256', 'a'.repeat(64)],
	['start'],
	['audit'],
	['audit', 'verify'],
];

type Home = {kind: string; make: () => string};
const homes: Home[] = [
	{kind: 'a home that does not exist', make: () => join(temporaryDirectory('xi-exec-missing-'), 'nowhere')},
	{kind: 'an empty directory', make: () => {
		const home = join(temporaryDirectory('xi-exec-missing-'), 'empty');
		mkdirSync(home);
		return home;
	}},
];

const listing = (home: string) => (existsSync(home) ? readdirSync(home, {recursive: true}).map(String).sort() : undefined);

for (const home of homes) {
	for (const args of controllerCommands) {
		test(`xi-exec ${args.join(' ')} on ${home.kind}: NOT_INITIALISED, naming xi-exec init`, async t => {
			const directory = home.make();
			const before = listing(directory);
			const result = await runCli(controllerCli, [...args, '--home', directory], {XI_EXEC_CA_PASSPHRASE: 'a long enough passphrase'});
			t.is(result.code, 2, result.stdout + result.stderr);
			t.is(result.stdout, '');
			t.is(result.stderr, `xi-exec: ${directory} has no fleet CA yet; run \`xi-exec init\` (or pass --home / XI_EXEC_HOME). (NOT_INITIALISED)\n`);
			t.deepEqual(listing(directory), before, 'nothing was created');
		});
	}

	for (const args of agentCommands) {
		test(`xi-exec-agent ${args.join(' ')} on ${home.kind}: NOT_INITIALISED, naming xi-exec-agent init`, async t => {
			const directory = home.make();
			const before = listing(directory);
			const result = await runCli(agentCli, [...args, '--home', directory]);
			t.is(result.code, 2, result.stdout + result.stderr);
			t.is(result.stdout, '');
			t.is(result.stderr, `xi-exec-agent: ${directory} has no agent configuration; run \`xi-exec-agent init --name NAME --listen HOST:PORT\` first. (NOT_INITIALISED)\n`);
			t.deepEqual(listing(directory), before, 'nothing was created');
		});
	}
}

test('under --json the refusal is the JSON error on stdout, for both audit verify commands', async t => {
	const directory = join(temporaryDirectory('xi-exec-missing-'), 'nowhere');
	for (const [cli, program] of [[controllerCli, 'xi-exec'], [agentCli, 'xi-exec-agent']] as const) {
		const result = await runCli(cli, ['audit', 'verify', '--json', '--home', directory]);
		t.is(result.code, 2, program);
		t.is(result.stderr, '', program);
		const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}};
		t.is(error.code, 'NOT_INITIALISED', program);
		t.true(error.message.includes(program === 'xi-exec' ? '`xi-exec init`' : '`xi-exec-agent init'), error.message);
	}
});
