/**
 * `xi-exec run --outdir DIR` over real agents: DIR/HOST.out, .err and .json hold exactly what the
 * history holds for that host (`runs show ID --agent HOST --json`). And the live progress line,
 * seen in a real terminal (tmux, started with CI unset, on its own socket): it counts the hosts
 * while one still runs, and is gone once the run has printed its summary.
 */
import {execFile, execFileSync} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory, waitFor, type RunningAgent} from '../helpers/fleet.js';

const run = promisify(execFile);
const marker = join(temporaryDirectory('xi-exec-marker-'), 'go');
// pipe1 is done at once; pipe2 prints, then waits for the marker file before it ends.
const quick = '#!/bin/sh\necho "quick out"\necho "quick err" >&2\n';
const waiting = `#!/bin/sh\necho "first"\nprintf 'no newline' >&2\nwhile [ ! -e ${marker} ]; do sleep 0.05; done\necho "second"\n`;

let controllerHome: string;
const running: RunningAgent[] = [];

test.before(async () => {
	controllerHome = await createController();
	const scripts = {pipe1: installScript('job', quick), pipe2: installScript('job', waiting)};
	for (const name of ['pipe1', 'pipe2'] as const) {
		running.push(await startAgent(await enrolAgent(controllerHome, {name, port: freePort(), scripts: {job: scripts[name]}})));
	}
});

test.after.always(async () => {
	await Promise.all(running.map(async agent => agent.stop()));
});

test.serial('--outdir: HOST.out, HOST.err and HOST.json equal the history of each host', async t => {
	writeFileSync(marker, '');
	const outdir = join(temporaryDirectory('xi-exec-outdir-'), 'new', 'dir');
	const result = await runCli(controllerCli, ['run', 'job', '--on', 'all', '--outdir', outdir, '--json'], {XI_EXEC_HOME: controllerHome});
	t.is(result.code, 0, result.stderr);
	const {requestId} = JSON.parse(result.stdout) as {requestId: string};
	t.deepEqual(readdirSync(outdir).sort(), ['pipe1.err', 'pipe1.json', 'pipe1.out', 'pipe2.err', 'pipe2.json', 'pipe2.out']);
	t.is(statSync(outdir).mode & 0o777, 0o700);
	for (const host of ['pipe1', 'pipe2']) {
		const shown = await runCli(controllerCli, ['runs', 'show', requestId, '--agent', host, '--json'], {XI_EXEC_HOME: controllerHome});
		const [stored] = (JSON.parse(shown.stdout) as {results: Array<Record<string, string>>}).results;
		t.is(readFileSync(join(outdir, `${host}.out`), 'utf8'), stored!['stdout']!);
		t.is(readFileSync(join(outdir, `${host}.err`), 'utf8'), stored!['stderr']!);
		t.deepEqual(JSON.parse(readFileSync(join(outdir, `${host}.json`), 'utf8')), stored);
		t.is(statSync(join(outdir, `${host}.out`)).mode & 0o777, 0o600);
	}

	t.is(readFileSync(join(outdir, 'pipe2.err'), 'utf8'), 'no newline');
});

test.serial('--outdir that is a file is refused before anything runs', async t => {
	const file = join(temporaryDirectory('xi-exec-outdir-'), 'file');
	writeFileSync(file, '');
	const result = await runCli(controllerCli, ['run', 'job', '--on', 'all', '--outdir', file], {XI_EXEC_HOME: controllerHome});
	t.is(result.code, 2);
	t.is(result.stderr, `xi-exec: --outdir ${file}: cannot create it (EEXIST). (USAGE)\n`);
});

function tmuxAvailable(): boolean {
	try {
		execFileSync('tmux', ['-V'], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
}

test.serial('on a terminal, a live progress line on stderr while hosts run; gone at the end', async t => {
	if (!tmuxAvailable()) {
		t.log('tmux is not installed: skipped');
		t.pass();
		return;
	}

	const {rmSync} = await import('node:fs');
	rmSync(marker, {force: true});
	const socket = `xi-exec-progress-${process.pid}-${Date.now()}`;
	const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'CI' && key !== 'TMUX'));
	const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, ...args], {env})).stdout;
	const command = `XI_EXEC_HOME='${controllerHome}' '${process.execPath}' '${controllerCli}' run job --on all; echo "EXIT=$?"; sleep 600`;
	await tmux('new-session', '-d', '-x', '100', '-y', '20', 'bash', '-c', command);
	try {
		const screen = () => execFileSync('tmux', ['-L', socket, 'capture-pane', '-p'], {env, encoding: 'utf8'});
		const during = await waitFor(() => {
			const text = screen();
			return /1\/2 done · 1 ok · 1 running · \d+\.\d s · ETA ~\d+\.\d s/.test(text) && text.includes('pipe2 | first') ? text : undefined;
		}, 'the progress line while pipe2 runs', {giveUpMs: 30_000});
		// The progress line is the last line on the screen, below the output.
		const lines = during.trimEnd().split('\n');
		t.regex(lines.at(-1)!, /^1\/2 done · 1 ok · 1 running · /, during);
		t.true(lines.some(line => line.startsWith('pipe1 = ok')), during);

		writeFileSync(marker, '');
		const after = await waitFor(() => {
			const text = screen();
			return text.includes('EXIT=') ? text : undefined;
		}, 'the end of the run', {giveUpMs: 30_000});
		t.true(after.includes('EXIT=0'), after);
		t.regex(after, /slowest: pipe2 [\d.]+ m?s, pipe1 [\d.]+ m?s\n2 ok {3}request /);
		t.notRegex(after, /\d\/2 done/, 'the progress line is erased');
	} finally {
		await tmux('kill-server').catch(() => undefined);
		if (!existsSync(marker)) {
			writeFileSync(marker, '');
		}
	}
});
