/**
 * An agent killed outright (SIGKILL) at each point of a run, one point after another on the same
 * home, with the controller's CLI asking for the run each time (test/fixtures/crash-agent.ts: a
 * real agent with the records `xi-exec-agent start` keeps, that kills itself at the point named):
 *
 * - what the agent's log holds of that run afterwards, and whether the script ran: nothing runs
 *   unless its decision reached the log; a run killed while the script ran keeps its receipt and
 *   decision (its start is held with its end, which never came);
 * - then a real agent starts on that home and runs once more, and the log verifies alone
 *   (`xi-exec-agent audit verify`: chain, checkpoints, anchor) and against the controller's
 *   (`xi-exec audit verify --cross`: every witnessed head present). The one disagreement --cross
 *   reports is true and is said exactly: a run killed after its end reached the agent's log and
 *   before its result was sent ended `ok` there and `unreachable` on the controller.
 *
 * A dead agent's lock directory is what the next one would outwait as stale after 10 s: the test
 * removes it at once (the owner is dead).
 */
import {spawn} from 'node:child_process';
import {existsSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory, waitFor} from '../helpers/fleet.js';

const fixture = fileURLToPath(new URL('../fixtures/crash-agent.ts', import.meta.url));

/** `ended`: the run's end reached the agent's log, and the controller never heard of it. */
type Point = {point: string; events: string[]; ran: boolean; ended?: true};

const points: Point[] = [
	{point: 'receipt-written', events: ['request.received', 'decision'], ran: false},
	{point: 'receipt-durable', events: ['request.received', 'decision'], ran: false},
	{point: 'running', events: ['request.received', 'decision'], ran: true},
	{point: 'end-written', events: ['request.received', 'decision', 'run.start', 'run.finish'], ran: true, ended: true},
	{point: 'end-durable', events: ['request.received', 'decision', 'run.start', 'run.finish'], ran: true, ended: true},
];

/** Starts the crashing agent and resolves once it listens, with a promise of how it ended. */
async function crashingAgent(home: string, point: string): Promise<{ended: Promise<NodeJS.Signals | null>; output: () => string}> {
	const child = spawn(process.execPath, ['--import=tsx', fixture, home, point], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	const ended = new Promise<NodeJS.Signals | null>(resolve => {
		child.once('exit', (_code, signal) => {
			resolve(signal);
		});
	});
	await new Promise<void>(resolve => {
		child.stdout.on('data', (chunk: Buffer) => {
			output += chunk.toString('utf8');
			if (output.includes('listening\n')) {
				resolve();
			}
		});
		child.stderr.on('data', (chunk: Buffer) => {
			output += chunk.toString('utf8');
		});
		void ended.then(() => {
			resolve();
		});
	});
	return {ended, output: () => output};
}

test('an agent killed at each point of a run leaves a log that verifies, alone and against the controller\'s, where only a run whose result was lost disagrees', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'web1', port: freePort(), scripts: {mark: installScript('mark', '#!/bin/sh\n: > "$1"\necho marked\n')}});
	const paths = agentPaths(agent.home);
	const marks = temporaryDirectory('xi-exec-crash-marks-');
	const records = () => readFileSync(paths.auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>);

	const disagreements: string[] = [];
	for (const {point, events, ran, ended} of points) {
		const mark = join(marks, point);
		const crashing = await crashingAgent(agent.home, point);
		const run = await runCli(controllerCli, ['run', 'mark', '--on', 'web1', '--', mark], {XI_EXEC_HOME: controller});
		t.is(await crashing.ended, 'SIGKILL', `${point}: the agent killed itself there\n${crashing.output()}`);
		t.not(run.code, 0, `${point}: the controller saw no result`);
		rmSync(`${paths.auditLog}.lock`, {recursive: true, force: true});

		const ofRun = records().filter(record => Array.isArray(record['args']) && record['args'][0] === mark);
		t.deepEqual(ofRun.map(record => record['event']), events, point);
		if (ended) {
			disagreements.push(`cross: request ${String(ofRun[0]?.['requestId'])}: the controller recorded unreachable, web1 recorded ok\n`);
		}

		if (ran) {
			await waitFor(() => existsSync(mark) || undefined, `${point}: the script to leave its mark`);
		} else {
			t.false(existsSync(mark), `${point}: nothing ran`);
		}
	}

	const running = await startAgent(agent);
	try {
		const after = await runCli(controllerCli, ['run', 'mark', '--on', 'web1', '--', join(marks, 'after')], {XI_EXEC_HOME: controller});
		t.is(after.code, 0, after.stderr);
	} finally {
		await running.stop();
	}

	const alone = await runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(alone.code, 0, alone.stdout + alone.stderr);
	t.regex(alone.stdout, /^ok: \d+ records, chain intact/);
	const cross = await runCli(controllerCli, ['audit', 'verify', '--cross', paths.auditLog], {XI_EXEC_HOME: controller});
	t.regex(cross.stdout, new RegExp(`^ok: \\d+ records, chain intact, last checkpoint at \\d+ \\(${paths.auditLog}\\)$`, 'm'), 'the agent\'s log verifies, every head the controller witnessed is in it');
	t.true(cross.stdout.endsWith(`${disagreements.join('')}cross: ${disagreements.length} problems\n`), cross.stdout);
	t.is(cross.code, 1);
});
