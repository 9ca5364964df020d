/**
 * When the CLI asks (a confirm script, a canary): `run` and `runbook run` alike ask when stdin and
 * stderr are terminals, as the question is written to stderr and read from stdin; stdout may be a
 * file (`… --json > out.json`, the document then in the file). With stderr a file, neither asks:
 * a confirm script is refused, saying to pass --yes. Before, `runbook run` asked only when stdin
 * and stdout were terminals, so `runbook run … > out.json` in a terminal never asked, and with
 * stderr a file it asked into the file and waited.
 *
 * Each command runs in a pseudo-terminal (util-linux `script`), its redirections made by the shell.
 */
import {spawn, spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {allowScript} from '../../agent/commands.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, startAgent, temporaryDirectory, type RunningAgent} from '../helpers/fleet.js';

const running: RunningAgent[] = [];
let home: string;
const directory = temporaryDirectory('xi-exec-questions-');
const question = 'guarded asks for confirmation (confirm: true on agent web1). Type 1 (the number of targets) to run it: ';

const hasScript = spawnSync('script', ['--version']).status === 0;
const terminalTest = hasScript ? test.serial : test.serial.skip;
if (!hasScript) {
	console.log('terminal-questions: skipped: util-linux `script` is not installed');
}

test.before(async () => {
	if (!hasScript) {
		return;
	}

	home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort()});
	allowScript(agentPaths(agent.home), 'guarded', installScript('guarded', '#!/bin/sh\necho guarded ran\n'), {description: 'guarded', confirm: true});
	running.push(await startAgent(agent));
	mkdirSync(join(home, 'runbooks'), {mode: 0o700});
	writeFileSync(join(home, 'runbooks', 'guarded-book.yaml'), 'description: one guarded step\nsteps:\n  - {name: go, script: guarded, on: web1}\n');
});

test.after.always(async () => {
	await Promise.all(running.map(async agent => agent.stop()));
});

const quote = (word: string) => `'${word.replaceAll('\'', '\'\\\'\'')}'`;

/**
 * `xi-exec ARGS REDIRECT` in a terminal, typing `answer` once the question shows on it; ends it
 * after 20 s without an exit (a question asked where nobody sees it). The exit status, the
 * terminal's text and whether it was asked.
 */
async function inTerminal(args: string[], redirect: string, answer: string): Promise<{code: number | null; screen: string; asked: boolean}> {
	const command = `${[process.execPath, controllerCli, ...args].map(word => quote(word)).join(' ')} ${redirect}`;
	const child = spawn('script', ['-qec', command, '/dev/null'], {env: {...process.env, XI_EXEC_HOME: home}, stdio: ['pipe', 'pipe', 'pipe']});
	let screen = '';
	let asked = false;
	const collect = (chunk: Buffer) => {
		screen += chunk.toString();
		if (!asked && screen.includes(question)) {
			asked = true;
			child.stdin.write(`${answer}\n`);
		}
	};

	child.stdout.on('data', collect);
	child.stderr.on('data', collect);
	const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
	const code = await new Promise<number | null>(resolve => child.on('close', resolve));
	clearTimeout(timer);
	return {code, screen: screen.replaceAll('\r\n', '\n'), asked};
}

terminalTest('runbook run with stdout a file asks on the terminal (stderr), and the document goes to the file', async t => {
	const out = join(directory, 'runbook.json');
	const typed = await inTerminal(['runbook', 'run', 'guarded-book', '--json'], `> ${quote(out)}`, '1');
	t.true(typed.asked, typed.screen);
	t.is(typed.code, 0, typed.screen);
	const document = JSON.parse(readFileSync(out, 'utf8')) as {status: string; steps: Array<{name: string; status: string}>};
	t.like(document, {status: 'ok', steps: [{name: 'go', status: 'ok'}]});
});

terminalTest('run with stdout a file asks the same way', async t => {
	const out = join(directory, 'run.json');
	const typed = await inTerminal(['run', 'guarded', '--on', 'web1', '--json'], `> ${quote(out)}`, '1');
	t.true(typed.asked, typed.screen);
	t.is(typed.code, 0, typed.screen);
	t.like(JSON.parse(readFileSync(out, 'utf8')), {results: [{agent: 'web1', status: 'ok', stdout: 'guarded ran\n'}]});
});

const refusedRows: Array<[string, string[]]> = [
	['run', ['run', 'guarded', '--on', 'web1']],
	['runbook run', ['runbook', 'run', 'guarded-book']],
];

for (const [name, args] of refusedRows) {
	terminalTest(`${name} with stderr a file does not ask: the confirm script is refused, saying to pass --yes`, async t => {
		const errors = join(directory, `${name.replace(' ', '-')}.err`);
		const refused = await inTerminal(args, `2> ${quote(errors)}`, '1');
		t.false(refused.asked, refused.screen);
		t.false(readFileSync(errors, 'utf8').includes(question), 'no question into the file');
		t.true(`${refused.screen}${readFileSync(errors, 'utf8')}`.includes('guarded asks for confirmation (confirm: true in its allowlist entry on agent web1): pass --yes ("yes": true over the REST API) to run it on 1 target'), `${refused.screen}\n${readFileSync(errors, 'utf8')}`);
		t.not(refused.code, 0);
		t.not(refused.code, null, 'it ended by itself');
	});
}
