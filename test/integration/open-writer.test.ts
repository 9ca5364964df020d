/**
 * A process that already holds an allowlisted script (or its `#!` interpreter) open for writing,
 * over a real agent: the test process is that writer. Each row changes a file at an exact moment
 * and asserts the run's result and the records it left in the agent's audit file.
 *
 * - After the check, before the start: the auth hook (a Node script) connects to the test and
 *   waits for its word, so the change lands while the agent has checked the files and not yet
 *   started anything. Every file is read and checked again just before the start: a write, a
 *   truncate, a hard link or a rewritten interpreter is refused with the reason the check at the
 *   execution boundary gives; a rename over the name or a symbolic link put in its place leaves
 *   the file the agent opened as it was, and that file runs (and the next run is refused, since
 *   the name now leads to another file). An interpreter held open for writing through the start
 *   cannot be executed at all (ETXTBSY).
 * - During the run: the script pauses itself (a FIFO) after dash has read its first block, and
 *   the writer rewrites, then truncates, what dash has not read yet. dash reads a private copy of
 *   the checked bytes (sealed-copy.ts), so the rest of the old script runs.
 */
import {randomUUID} from 'node:crypto';
import {chmodSync, closeSync, constants, copyFileSync, ftruncateSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync} from 'node:fs';
import {readFile, writeFile} from 'node:fs/promises';
import {createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';
import {execFileSync} from 'node:child_process';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig, writeAllowlistFile} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, freePort, installScript, rawExchange, requestLine, startAgent, temporaryDirectory, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const changed = (script: string, path: string) => `script ${script} is refused: ${path} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`;

/** A private copy of dash, so that a row may hold it open for writing. */
function dashCopy(directory: string, name: string): string {
	const path = join(directory, name);
	copyFileSync('/usr/bin/dash', path);
	chmodSync(path, 0o755);
	return path;
}

function script(directory: string, name: string, body: string): string {
	const path = join(directory, name);
	writeFileSync(path, body, {mode: 0o755});
	chmodSync(path, 0o755);
	return path;
}

/** The auth hook: tells the test it was asked (the agent has checked the files), waits for its word, allows. */
function pausingHook(socket: string): string {
	return installScript('hook', `#!/usr/bin/env node
const socket = require('node:net').connect(${JSON.stringify(socket)});
process.stdin.resume();
socket.write('checked\\n');
socket.on('data', () => { process.stdout.write(JSON.stringify({allow: true, reason: 'the writer had its turn'})); socket.end(); });
`);
}

/** Runs `during.current` each time the hook is asked, then lets the hook allow. */
const during = {current: (): void => undefined};

function hookServer(path: string): Promise<Server> {
	const server = createServer((connection: Socket) => {
		connection.once('data', () => {
			during.current();
			connection.end('go\n');
		});
	});
	return new Promise(resolve => server.listen(path, () => {
		resolve(server);
	}));
}

/** Opens `path` for writing and keeps it open: the writer this test is about. */
const holdOpen = (path: string) => openSync(path, 'r+');

/** dash reads a script 8 KiB at a time: a script that pauses in its first block and echoes well past it. */
function pausingScript(dash: string, fifo: {paused: string; go: string}): string {
	return `#!${dash}\nprintf 'paused\\n' > ${fifo.paused}; read go < ${fifo.go}\n${'# padding past the first block dash reads\n'.repeat(250)}echo "old $*"\n`;
}

type Setup = {
	controller: string;
	agent: TestAgent;
	running: RunningAgent;
	server: Server;
	paths: Record<string, string>;
	held: Record<string, number>;
	fifos: Record<'b1' | 'b2', {paused: string; go: string}>;
};

let setup: Setup;

test.before(async () => {
	const directory = temporaryDirectory('xi-exec-writer-');
	chmodSync(directory, 0o755);
	const subdirectory = (name: string) => {
		const path = join(directory, name);
		mkdirSync(path, {mode: 0o755});
		chmodSync(path, 0o755);
		return path;
	};

	const dash = dashCopy(subdirectory('shared'), 'dash');
	const body = `#!${dash}\necho "old $*"\n`;
	const paths: Record<string, string> = {};
	for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) {
		paths[name] = script(directory, name, body);
	}

	paths['other'] = script(directory, 'other', `#!${dash}\necho "other $*"\n`);
	paths['i6'] = dashCopy(subdirectory('i6'), 'dash');
	paths['a6'] = script(directory, 'a6', `#!${paths['i6']}\necho "old $*"\n`);
	paths['i7'] = dashCopy(subdirectory('i7'), 'dash');
	paths['a7'] = script(directory, 'a7', `#!${paths['i7']}\necho "old $*"\n`);
	paths['nested'] = script(directory, 'nested', `#!${dash}\nexec ${dash} "$@"\n`);
	paths['a8'] = script(directory, 'a8', `#!${paths['nested']}\necho "old $*"\n`);
	const fifoDirectory = subdirectory('fifos');
	const fifos = {
		b1: {paused: join(fifoDirectory, 'b1-paused'), go: join(fifoDirectory, 'b1-go')},
		b2: {paused: join(fifoDirectory, 'b2-paused'), go: join(fifoDirectory, 'b2-go')},
	};
	for (const fifo of Object.values(fifos).flatMap(pair => [pair.paused, pair.go])) {
		execFileSync('mkfifo', ['-m', '0666', fifo]);
	}

	paths['b1'] = script(directory, 'b1', pausingScript(dash, fifos.b1));
	paths['b2'] = script(directory, 'b2', pausingScript(dash, fifos.b2));
	// Opened for writing before the agent ever looks at them, and held.
	const held = Object.fromEntries(['a1', 'a2', 'i6', 'i7', 'nested', 'b1', 'b2'].map(name => [name, holdOpen(paths[name]!)]));

	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'w1', port: freePort()});
	const home = agentPaths(agent.home);
	const socket = join(temporaryDirectory('xi-exec-hook-'), 'hook.sock');
	writeAgentConfig(home, {...readAgentConfig(home), hook: pausingHook(socket), hookInterpreter: process.execPath, hookTimeoutMs: 300_000});
	const scripts = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'b1', 'b2'];
	writeAllowlistFile(home, {scripts: Object.fromEntries(scripts.map(name => [name, {path: paths[name]!, description: name, timeoutSeconds: 300}]))});
	const server = await hookServer(socket);
	const running = await startAgent(agent);
	setup = {controller, agent, running, server, paths, held, fifos};
});

test.after.always(async () => {
	await setup?.running.stop();
	setup?.server.close();
	for (const fd of Object.values(setup?.held ?? {})) {
		try {
			closeSync(fd);
		} catch {
			// Closed by its row.
		}
	}
});

type Outcome = {status: string; stdout: string; reason: string | undefined; events: string[]; records: Array<Record<string, unknown>>};

/** One run of `name` as the controller asks for it; `change` runs while the hook waits (after the check, before the start). */
async function run(name: string, change: () => void = () => undefined): Promise<Outcome> {
	during.current = change;
	const id = randomUUID();
	const reply = await rawExchange(setup.agent.port, {...controllerCredentials(setup.controller), send: [requestLine({type: 'run', id, script: name, args: ['now'], caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	const lines = readFileSync(agentPaths(setup.agent.home).auditLog, 'utf8').split('\n').slice(0, -1);
	const records = lines.map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === id);
	return {
		status: String(result?.['status']),
		stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => frame['data'] as string).join(''),
		reason: result?.['reason'] as string | undefined,
		events: records.map(record => String(record['event'])),
		records,
	};
}

const echoAt = (path: string) => readFileSync(path, 'utf8').indexOf('echo "old');

type Row = {
	title: string;
	script: string;
	change: (paths: Record<string, string>, held: Record<string, number>) => void;
	/** Refused just before the start, naming this file. */
	refusedFor: string;
};

const refusedRows: Row[] = [
	{title: 'a writer holding the script writes over it (same size)', script: 'a1', refusedFor: 'a1', change(paths, held) {
		writeSync(held['a1']!, 'echo "new', echoAt(paths['a1']!));
	}},
	{title: 'a writer holding the script truncates it', script: 'a2', refusedFor: 'a2', change(_paths, held) {
		ftruncateSync(held['a2']!, 0);
	}},
	{title: 'another file renamed over the script (the file opened loses its link)', script: 'a3', refusedFor: 'a3', change(paths) {
		copyFileSync(paths['other']!, `${paths['a3']!}.new`);
		renameSync(`${paths['a3']!}.new`, paths['a3']!);
	}},
	{title: 'the script replaced by a symbolic link to another file', script: 'a5', refusedFor: 'a5', change(paths) {
		rmSync(paths['a5']!);
		symlinkSync(paths['other']!, paths['a5']!);
	}},
	{title: 'a hard link to the script is added', script: 'a4', refusedFor: 'a4', change(paths) {
		linkSync(paths['a4']!, `${paths['a4']!}.link`);
	}},
	{title: 'a writer holding the #! interpreter (ELF) rewrites it with its own bytes and closes it', script: 'a6', refusedFor: 'i6', change(paths, held) {
		writeSync(held['i6']!, readFileSync(paths['i6']!).subarray(0, 4), 0, 4, 0);
		closeSync(held['i6']!);
	}},
	{title: 'a writer holding a nested #! interpreter (a script) writes over it', script: 'a8', refusedFor: 'nested', change(_paths, held) {
		writeSync(held['nested']!, '#', 0);
	}},
];

for (const row of refusedRows) {
	test.serial(`after the check, before the start: ${row.title} → refused`, async t => {
		const outcome = await run(row.script, () => {
			row.change(setup.paths, setup.held);
		});
		const reason = changed(row.script, setup.paths[row.refusedFor]!);
		t.is(outcome.status, 'denied');
		t.is(outcome.reason, reason);
		t.is(outcome.stdout, '');
		t.deepEqual(outcome.events, ['request.received', 'decision', 'run.refused'], 'allowed by the hook, refused before anything started');
		t.like(outcome.records.at(-1), {event: 'run.refused', script: row.script, status: 'denied', reason});
	});
}

test.serial('the #! interpreter (ELF) held open for writing through the start cannot be executed (ETXTBSY)', async t => {
	const outcome = await run('a7');
	const reason = `the script could not be started: ${setup.paths['i7']!} is open for writing by another process (ETXTBSY); nothing ran`;
	t.is(outcome.status, 'error');
	t.is(outcome.reason, reason);
	t.is(outcome.stdout, '');
	t.deepEqual(outcome.events, ['request.received', 'decision', 'run.finish'], 'no run.start: nothing started');
	t.like(outcome.records.at(-1), {event: 'run.finish', status: 'error', reason});
});

const midRunRows = [
	{title: 'rewrites what dash has not read yet', script: 'b1' as const, change(path: string, fd: number) {
		writeSync(fd, 'echo "new', echoAt(path));
	}},
	{title: 'truncates what dash has not read yet', script: 'b2' as const, change(path: string, fd: number) {
		ftruncateSync(fd, echoAt(path));
	}},
];

for (const row of midRunRows) {
	test.serial(`during the run: a writer holding the script ${row.title} → the old script runs to its end`, async t => {
		const fifo = setup.fifos[row.script];
		const running = run(row.script);
		// The script says it paused (dash has read its first block); or the run ended without pausing.
		const paused = await Promise.race([readFile(fifo.paused, 'utf8'), running.then(() => undefined)]);
		if (paused === undefined) {
			// Let the pending open of the FIFO finish before failing.
			closeSync(openSync(fifo.paused, constants.O_WRONLY | constants.O_NONBLOCK));
			t.fail(`the run ended without pausing: ${JSON.stringify(await running)}`);
			return;
		}

		row.change(setup.paths[row.script]!, setup.held[row.script]!);
		await writeFile(fifo.go, 'go\n');
		const outcome = await running;
		t.is(outcome.status, 'ok', outcome.reason);
		t.is(outcome.stdout, 'old now\n', 'the bytes checked ran to their end: the change never reached dash');
		t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish']);
		t.like(outcome.records.at(-1), {event: 'run.finish', status: 'ok', exitCode: 0});

		const next = await run(row.script);
		t.is(next.reason, changed(row.script, setup.paths[row.script]!), 'and the file as it is now is refused');
		t.deepEqual(next.events, ['request.received', 'run.refused']);
	});
}
