/**
 * The writer probe's threads are bounded (probe-thread.ts): a probe whose exec is stuck in an
 * uninterruptible wait (a hung NFS mount) outlives SIGKILL, and its thread with it (~10 MiB). Once
 * `stuckThreadsMax` such threads have not ended, no other is started: each run that needs a probe
 * is refused at once with the exact reason, recorded as `run.refused`; once one ends, runs pass
 * again. Before, every probe after a stuck one started another thread, without limit.
 *
 * A process in state D cannot be made here, so the stuck thread is simulated (a test hook,
 * probeThreadForTests): its probe blocks in spawnSync() of `sh` whose background `sleep` holds the
 * output pipe, so killing the thread's child (what the bound does) does not end the wait, nor does
 * worker.terminate(); only the sleep's end does, as only the mount's recovery would. Over a real
 * agent server in this process (real certificates, mutual TLS) with the kernel's own probe and a
 * real Python script. Needs root (the scripts are root's).
 */
import {randomUUID} from 'node:crypto';
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {probeThreadForTests, stopProbeThread, stuckProbeThreads, stuckThreadsMax} from '../../agent/probe-thread.js';
import type {AgentRecorder} from '../../agent/run-context.js';
import type {AgentServer} from '../../agent/server.js';
import {controllerCredentials, createController, rawExchange, requestLine, waitFor} from '../helpers/fleet.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';
import {baseDirectory, executable} from './agent-run.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.skip;
if (!isRoot) {
	test('probe thread cap: skipped', t => {
		t.log(`SKIPPED: this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent's scripts must be root's`);
		t.pass();
	});
}

const records: Array<Record<string, unknown> & {event: string}> = [];
const recorder: AgentRecorder = {
	async record(event, fields) {
		records.push({event, ...fields});
	},
	signedHead: () => undefined,
};

let agent: AgentServer | undefined;
let credentials: ReturnType<typeof controllerCredentials>;
let script: string;
const directory = baseDirectory('xi-exec-probe-cap-');
const sleeps = join(directory, 'sleeps');

test.before(async () => {
	if (!isRoot) {
		return;
	}

	mkdirSync(sleeps);
	script = executable(join(directory, 'py'), '#!/usr/bin/python3\nprint("python ran")\n');
	const controllerHome = await createController();
	({server: agent} = await inProcessAgent(controllerHome, 'cap1', {py: script}, {recorder}));
	credentials = controllerCredentials(controllerHome);
});

test.after.always(async () => {
	probeThreadForTests();
	releaseSleeps();
	await agent?.close();
});

/** Ends the stuck threads' waits: the mount recovers. */
function releaseSleeps(): void {
	for (const name of existsSync(sleeps) ? readdirSync(sleeps) : []) {
		try {
			process.kill(Number(readFileSync(join(sleeps, name), 'utf8').trim()), 'SIGKILL');
		} catch {
			// Gone already.
		}
	}
}

async function run(): Promise<{status: unknown; reason: unknown; stdout: string; last: Record<string, unknown> | undefined}> {
	const id = randomUUID();
	const reply = await rawExchange(agent!.address().port, {...credentials, send: [requestLine({type: 'run', id, script: 'py', args: [], caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	return {status: result?.['status'], reason: result?.['reason'], stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => String(frame['data'])).join(''), last: records.filter(record => record['requestId'] === id).at(-1)};
}

// Stands for spawn() in an exec stuck in state D: SIGKILL to the thread's child (sh) does not end the wait, as the sleep holds the pipe.
const stuckCode = `const {parentPort, threadId} = require('node:worker_threads');
parentPort.on('message', () => require('node:child_process').spawnSync('sh', ['-c', 'sleep 600 & echo $! > "$0"; wait', ${JSON.stringify(sleeps)} + '/' + threadId]));`;

rootTest(`past ${stuckThreadsMax} stuck probe threads none is started: the run is refused at once with the reason, in run.refused; once they end, runs pass`, async t => {
	t.timeout(90_000);
	t.like(await run(), {status: 'ok', stdout: 'python ran\n'}, 'the kernel\'s way is found and kept by a real probe first');
	await stopProbeThread();
	// The bound must outlast the thread's start and its reach of spawnSync, even under load.
	probeThreadForTests(stuckCode, 2000);
	const timedOut = `script py is refused: whether ${script} is open for writing cannot be checked (its exec got no answer within 5 s and was killed: is a mount on its way hung?); nothing ran`;
	for (let index = 0; index < stuckThreadsMax; index++) {
		t.like(await run(), {status: 'denied', reason: timedOut});
	}

	t.is(stuckProbeThreads(), stuckThreadsMax, 'their threads are still there: killing their child did not end them');
	t.is(readdirSync(sleeps).length, stuckThreadsMax);
	const refused = await run();
	const reason = `script py is refused: whether ${script} is open for writing cannot be checked (${stuckThreadsMax} earlier probes are stuck in an exec that SIGKILL did not end (a hung mount: processes in state D), and the agent starts no other probe until one of them ends); nothing ran`;
	t.like(refused, {status: 'denied', reason, stdout: ''});
	t.like(refused.last, {event: 'run.refused', script: 'py', status: 'denied', reason});
	t.like(await run(), {status: 'denied', reason}, 'and again');
	t.is(readdirSync(sleeps).length, stuckThreadsMax, 'no other thread was started');

	probeThreadForTests();
	releaseSleeps();
	await waitFor(() => (stuckProbeThreads() === 0 ? true : undefined), 'the stuck threads to end once their wait does');
	t.like(await run(), {status: 'ok', stdout: 'python ran\n'}, 'a thread is started again');
});
