/**
 * `--help` on every command and subcommand of both executables (and `help COMMAND`): the built
 * executables print that command's help, exit 0, and touch nothing (the homes' files and the
 * audit logs are byte for byte the same afterwards), even for commands that would start a
 * listener, encrypt a key or pair.
 */
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCommands} from '../../agent/cli/index.js';
import {controllerCommands} from '../../source/cli/commands/index.js';
import type {CommandTable} from '../../source/cli/command.js';
import {controllerPaths} from '../../source/home.js';
import {agentCli, controllerCli, createController, enrolAgent, runCli} from '../helpers/fleet.js';

/** The command lines to try: each command, each of its subcommands (the lower-case word after it in a usage line). */
function commandLines(table: CommandTable<unknown>): string[][] {
	const lines = new Map<string, string[]>();
	for (const command of Object.values(table)) {
		lines.set(command.name, [command.name]);
		for (const usage of command.usage) {
			const [name, word] = usage.split(' ');
			if (name === command.name && word !== undefined && /^[a-z]+$/.test(word)) {
				lines.set(`${name} ${word}`, [name, word]);
			}
		}
	}

	return [...lines.values()];
}

/** Every file under a directory, with its size, mode and modification time, and the contents of the audit log. */
function snapshot(directory: string, auditLog: string): string {
	const files = readdirSync(directory, {recursive: true, encoding: 'utf8'}).sort().map(file => {
		const stat = statSync(join(directory, file));
		return `${file} ${stat.size} ${stat.mode.toString(8)} ${stat.mtimeMs}`;
	});
	return [...files, existsSync(auditLog) ? readFileSync(auditLog, 'utf8') : '(no audit log)'].join('\n');
}

/** Runs the lines a few at a time: the machine is shared. */
async function each<T>(items: readonly T[], action: (item: T) => Promise<void>): Promise<void> {
	const queue = [...items];
	await Promise.all(Array.from({length: 4}, async () => {
		for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
			await action(item);
		}
	}));
}

const passphrase = {XI_EXEC_CA_PASSPHRASE: 'a passphrase long enough'};

test('xi-exec: COMMAND [SUBCOMMAND] --help (and help COMMAND) print the command\'s help, exit 0, change nothing', async t => {
	const home = await createController();
	const paths = controllerPaths(home);
	const before = snapshot(home, paths.auditLog);
	const lines = commandLines(controllerCommands);
	t.true(lines.some(line => line.join(' ') === 'token create') && lines.some(line => line.join(' ') === 'ca protect'));
	await each([...lines.map(line => [...line, '--help']), ['help', 'run'], ['help', 'token']], async argv => {
		const result = await runCli(controllerCli, [...argv, '--home', home], passphrase);
		const name = argv[0] === 'help' ? argv[1]! : argv[0]!;
		t.is(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
		t.is(result.stderr, '', argv.join(' '));
		t.true(result.stdout.startsWith(`${controllerCommands[name]!.summary}\n\nUsage\n  $ xi-exec ${name}`), `${argv.join(' ')}: ${result.stdout}`);
	});
	t.is(snapshot(home, paths.auditLog), before);
});

test('xi-exec-agent: COMMAND [SUBCOMMAND] --help (and help COMMAND) print the command\'s help, exit 0, change nothing', async t => {
	const controllerHome = await createController();
	const agent = await enrolAgent(controllerHome, {name: 'helpful', port: 1});
	const auditLog = join(agent.home, 'audit', 'agent.jsonl');
	const before = snapshot(agent.home, auditLog);
	const lines = commandLines(agentCommands);
	t.true(lines.some(line => line.join(' ') === 'tag set') && lines.some(line => line.join(' ') === 'start'));
	await each([...lines.map(line => [...line, '--help']), ['help', 'start']], async argv => {
		const result = await runCli(agentCli, [...argv, '--home', agent.home]);
		const name = argv[0] === 'help' ? argv[1]! : argv[0]!;
		t.is(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
		t.is(result.stderr, '', argv.join(' '));
		t.true(result.stdout.startsWith(`${agentCommands[name]!.summary}\n\nUsage\n  $ xi-exec-agent ${name}`), `${argv.join(' ')}: ${result.stdout}`);
	});
	t.is(snapshot(agent.home, auditLog), before);
});

test('--version prints package.json\'s version, for both executables, before or after a command', async t => {
	const {version} = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string};
	for (const [cli, argv] of [[controllerCli, ['--version']], [controllerCli, ['runs', '--version']], [agentCli, ['--version']], [agentCli, ['start', '--version']]] as const) {
		const result = await runCli(cli, [...argv]);
		t.is(result.code, 0);
		t.is(result.stdout, `${version}\n`);
	}
});
