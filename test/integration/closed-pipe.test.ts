/**
 * A reader going away never changes what happens on the fleet: `xi-exec run … | head -n 1` over
 * real agents and a script that prints for 3 s. head leaves after the first line; the run goes on
 * to its end on every host, the history keeps every host's full output, both sides' audit logs
 * record every host ok, and the CLI exits as if its output had been read to the end (no stack
 * trace). The same for `run --json | head -c 50`, `runs`, `audit` and `audit --json`. The pipes
 * are real: bash, GNU head and true read (or refuse to read) what we write.
 */
import {execFile} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const lineCount = 30;
// 30 lines, one every 0.1 s: well after head has gone, the CLI is still writing.
const talk = `#!/bin/sh\ni=1\nwhile [ $i -le ${lineCount} ]; do echo "line $i"; i=$((i+1)); sleep 0.1; done\necho finished >&2\n`;
const fullOutput = Array.from({length: lineCount}, (_, i) => `line ${i + 1}\n`).join('');

let controllerHome: string;
const agents: TestAgent[] = [];
const running: RunningAgent[] = [];

test.before(async () => {
	controllerHome = await createController();
	const script = installScript('talk', talk);
	for (const name of ['pipe1', 'pipe2']) {
		const agent = await enrolAgent(controllerHome, {name, port: freePort(), scripts: {talk: script}});
		agents.push(agent);
		running.push(await startAgent(agent));
	}
});

test.after.always(async () => {
	await Promise.all(running.map(async agent => agent.stop()));
});

type Piped = {status: number; stderr: string; shown: string};

/** `xi-exec ARGS 2>ERR | READER` in bash: what the reader printed, and xi-exec's own status and stderr. */
async function piped(args: string[], reader: string): Promise<Piped> {
	const directory = temporaryDirectory('xi-exec-pipe-');
	const script = `"$NODE" "$CLI" "$@" 2>"$DIR/stderr" | ${reader}; echo "\${PIPESTATUS[0]}" >"$DIR/status"`;
	const shown = await new Promise<string>((resolve, reject) => {
		execFile('bash', ['-c', script, 'bash', ...args], {env: {...process.env, NODE: process.execPath, CLI: controllerCli, DIR: directory, XI_EXEC_HOME: controllerHome}}, (error, stdout) => {
			if (error) {
				reject(error);
			} else {
				resolve(stdout);
			}
		});
	});
	return {status: Number(readFileSync(join(directory, 'status'), 'utf8')), stderr: readFileSync(join(directory, 'stderr'), 'utf8'), shown};
}

const records = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);

/** The run went on to its end on every host: the history, the controller's audit and each agent's audit say so. */
async function ranToTheEnd(t: import('ava').ExecutionContext): Promise<string> {
	const list = await runCli(controllerCli, ['runs', '--json'], {XI_EXEC_HOME: controllerHome});
	const latest = (JSON.parse(list.stdout) as {runs: Array<{requestId: string; complete: boolean; counts: Record<string, number>}>}).runs[0]!;
	t.like(latest, {complete: true, counts: {ok: 2}});
	const shown = await runCli(controllerCli, ['runs', 'show', latest.requestId, '--json'], {XI_EXEC_HOME: controllerHome});
	const results = (JSON.parse(shown.stdout) as {results: Array<{agent: string; status: string; stdout: string; stderr: string}>}).results;
	t.deepEqual(results.map(result => [result.agent, result.status, result.stdout, result.stderr]), [['pipe1', 'ok', fullOutput, 'finished\n'], ['pipe2', 'ok', fullOutput, 'finished\n']]);

	const outcomes = records(controllerPaths(controllerHome).auditLog).filter(record => record['event'] === 'run.outcome' && record['requestId'] === latest.requestId);
	t.deepEqual(outcomes.map(record => [record['agent'], record['status']]).sort(), [['pipe1', 'ok'], ['pipe2', 'ok']]);
	for (const agent of agents) {
		const finish = records(agentPaths(agent.home).auditLog).filter(record => record['event'] === 'run.finish' && record['requestId'] === latest.requestId);
		t.deepEqual(finish.map(record => [record['status'], (record['bytes'] as {stdout: number}).stdout]), [['ok', fullOutput.length]], agent.name);
	}

	return latest.requestId;
}

test.serial('run | head -n 1: head gets its line; the run finishes everywhere; exit 0 as if read to the end, stderr empty', async t => {
	const result = await piped(['run', 'talk', '--on', 'pipe[1-2]'], 'head -n 1');
	t.regex(result.shown, /^pipe[12] \| line 1\n$/);
	t.is(result.stderr, '');
	t.is(result.status, 0);
	await ranToTheEnd(t);
});

test.serial('run --json | head -c 50: the same, for the JSON document', async t => {
	const result = await piped(['run', 'talk', '--on', 'all', '--json'], 'head -c 50');
	t.is(result.shown, result.shown.slice(0, 50));
	t.true(result.shown.startsWith('{"requestId":"'), result.shown);
	t.is(result.stderr, '');
	t.is(result.status, 0);
	await ranToTheEnd(t);
});

const listings: Array<{args: string[]; reader: string}> = [
	{args: ['runs'], reader: 'head -n 1'},
	{args: ['runs', '--json'], reader: 'head -c 10'},
	{args: ['audit'], reader: 'head -n 1'},
	{args: ['audit', '--json'], reader: 'head -n 1'},
	// A reader that is gone before the first write: EPIPE at once, whatever the pipe's buffer holds.
	{args: ['runs'], reader: 'true'},
	{args: ['audit'], reader: 'true'},
	{args: ['audit', '--json'], reader: 'true'},
];

for (const c of listings) {
	test.serial(`${c.args.join(' ')} | ${c.reader}: exit 0, nothing on stderr`, async t => {
		const result = await piped(c.args, c.reader);
		t.is(result.stderr, '');
		t.is(result.status, 0);
		if (c.reader !== 'true') {
			t.not(result.shown, '');
		}
	});
}
