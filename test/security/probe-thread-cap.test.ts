/**
 * The writer probe's stuck threads are bounded per file system and in all (probe-thread.ts): a
 * probe whose exec is stuck in an uninterruptible wait (a hung NFS mount) outlives SIGKILL, and its
 * thread with it (~10 MiB). Such a thread is counted by the file system (st_dev) of the file its
 * probe hung on: the next probe of a file there is refused at once (it would hang another thread),
 * files on other file systems are still probed; past `stuckThreadsMax` stuck threads in all, no
 * other is started. A probe only queued behind the one that hangs is sent again to the next thread
 * and gets the kernel's own answer. Every refusal: the exact reason, recorded as `run.refused`.
 * Before (s14 review finding 5): two stuck probes of one file system refused every probe of every
 * file system, and a probe queued behind a hanging one was refused with the other's timeout.
 *
 * Each "file system" is a tmpfs mounted for this test (its own st_dev), with a Python script on it;
 * `py` is on the test directory's own file system, never hung. A process in state D cannot be made
 * here, so the hang is simulated (a test hook, probeThreadForTests): the probe thread's spawn, for
 * a file on a mount flagged hung, blocks in spawnSync() of `sh` whose background `sleep` holds the
 * output pipe, so killing the thread's child (what the bound does) does not end the wait, nor does
 * worker.terminate(); only the sleep's end does, as only the mount's recovery would. The bound is
 * made to pass by the test (expireProbeBound) once the probe is seen hanging: nothing is timed.
 * Over a real agent server in this process (real certificates, mutual TLS) with the kernel's own
 * probe. Needs root (the scripts are root's, and the mounts).
 */
import {execFileSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {expireProbeBound, probesOut, probeThreadForTests, stuckProbeThreads, stuckThreadsMax} from '../../agent/probe-thread.js';
import type {AgentRecorder} from '../../agent/run-context.js';
import type {AgentServer} from '../../agent/server.js';
import {controllerCredentials, createController, rawExchange, requestLine, waitFor} from '../helpers/fleet.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';
import {baseDirectory, executable} from './agent-run.js';

const directory = baseDirectory('xi-exec-probe-cap-');
const sleeps = join(directory, 'sleeps');
// One more file system than the cap: mounts m0 .. m8, each with its script h0 .. h8.
const mounts = Array.from({length: stuckThreadsMax + 1}, (_, index) => join(directory, `m${index}`));
const mounted: string[] = [];

const cannot = (() => {
	if (process.getuid?.() !== 0) {
		return `this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent's scripts must be root's, and it mounts tmpfs`;
	}

	mkdirSync(sleeps);
	for (const mount of mounts) {
		mkdirSync(mount, {mode: 0o755});
		try {
			execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=755', 'xi-exec-probe-cap', mount], {stdio: 'pipe'});
		} catch (error) {
			return `tmpfs cannot be mounted here (${String((error as {stderr?: unknown}).stderr ?? error).trim()}): each file system of the table is one`;
		}

		mounted.push(mount);
	}

	return undefined;
})();
// Also when this worker ends before after.always (a leaked set was seen once): lazy unmounts, each once.
process.once('exit', unmountAll);
const row = cannot === undefined ? test.serial : test.skip;
if (cannot !== undefined) {
	test('probe thread cap: skipped', t => {
		t.log(`SKIPPED: ${cannot}`);
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
const body = '#!/usr/bin/python3\nprint("python ran")\n';
const scripts: Record<string, string> = {};

test.before(async () => {
	if (cannot !== undefined) {
		return;
	}

	scripts['py'] = executable(join(directory, 'py'), body);
	for (const [index, mount] of mounts.entries()) {
		scripts[`h${index}`] = executable(join(mount, 'py'), body);
		// The mount is "hung" while this flag is there (the simulated exec reads it).
		writeFileSync(join(mount, '.hung'), '');
	}

	const controllerHome = await createController();
	({server: agent} = await inProcessAgent(controllerHome, 'cap1', scripts, {recorder}));
	credentials = controllerCredentials(controllerHome);
	// The bound is passed by the test (expireProbeBound); this one only ends a row that would wait for good (the code before: its answer in the diff).
	probeThreadForTests(hangCode, 30_000);
});

test.after.always(async () => {
	probeThreadForTests();
	releaseSleeps(cannot === undefined ? readdirSync(sleeps) : []);
	await agent?.close();
	await waitFor(() => (stuckProbeThreads() === 0 ? true : undefined), 'the stuck threads to end').catch(() => undefined);
	unmountAll();
});

function unmountAll(): void {
	for (const mount of mounted.splice(0)) {
		try {
			execFileSync('umount', ['-l', mount], {stdio: 'pipe'});
		} catch {
			// Not mounted any more.
		}
	}
}

/** Ends the stuck threads' waits named by `markers`: the mount recovers. */
function releaseSleeps(markers: readonly string[]): void {
	for (const name of markers) {
		try {
			process.kill(Number(readFileSync(join(sleeps, name), 'utf8').trim()), 'SIGKILL');
		} catch {
			// Gone already.
		}
	}
}

type Outcome = {status: unknown; reason: unknown; stdout: string; last: Record<string, unknown> | undefined};

async function run(script: string): Promise<Outcome> {
	const id = randomUUID();
	const reply = await rawExchange(agent!.address().port, {...credentials, send: [requestLine({type: 'run', id, script, args: [], caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	return {status: result?.['status'], reason: result?.['reason'], stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => String(frame['data'])).join(''), last: records.filter(record => record['requestId'] === id).at(-1)};
}

// Stands for spawn() in an exec stuck in state D, for a file on a mount flagged hung: SIGKILL to the thread's child (sh) does not end the wait, as the sleep holds the pipe.
const hangCode = `{
const childProcess = require('node:child_process');
const fs = require('node:fs');
const kernel = childProcess.spawn;
const onHungMount = fd => { try { return fs.existsSync(require('node:path').dirname(fs.readlinkSync('/proc/self/fd/' + fd)) + '/.hung'); } catch { return false; } };
childProcess.spawn = (file, args, options) => {
	if ([Number(file.split('/').pop()), ...options.stdio.slice(3)].some(onHungMount)) {
		childProcess.spawnSync('sh', ['-c', 'sleep 600 & echo $! > "$0"; wait', ${JSON.stringify(sleeps)} + '/' + require('node:worker_threads').threadId]);
		throw Object.assign(new Error('the simulated mount recovered'), {code: 'EIO'});
	}
	return kernel(file, args, options);
};
}
`;

const timedOut = (path: string) => `whether ${path} is open for writing cannot be checked (its exec got no answer within 5 s and was killed: is a mount on its way hung?); nothing ran`;
const stuckHere = (path: string, device: string) => `whether ${path} is open for writing cannot be checked (an earlier probe of a file on its file system, device ${device}, is stuck in an exec that SIGKILL did not end (a hung mount: processes in state D); files on other file systems are still checked, this one not until that probe ends: the mount is the line with ${device} in /proc/self/mountinfo); nothing ran`;
const stuckAll = (path: string) => `whether ${path} is open for writing cannot be checked (${stuckThreadsMax} earlier probes are stuck in an exec that SIGKILL did not end (hung mounts: processes in state D), and the agent starts no other probe until one of them ends); nothing ran`;
const refusal = (script: string, reason: string) => `script ${script} is refused: ${reason}`;
/** Which stuck thread's sleep stands for which mount. */
const markerOf = new Map<string, string>();

/** A run of `script` (on a hung mount) until its probe hangs; then its bound passes. */
async function hang(script: string, alsoQueued?: () => Promise<Outcome>): Promise<{hung: Outcome; queued?: Outcome}> {
	const before = new Set(readdirSync(sleeps));
	const hung = run(script);
	const marker = await waitFor(() => readdirSync(sleeps).find(name => !before.has(name)), `the probe of ${script} to hang`);
	markerOf.set(script, marker);
	const queued = alsoQueued?.();
	if (queued) {
		await waitFor(() => (probesOut() === 2 ? true : undefined), 'a second probe queued behind the hung one');
	}

	expire();
	return {hung: await hung, queued: await queued};
}

function expire(): void {
	if (!expireProbeBound()) {
		throw new Error('no probe out when its bound was to pass');
	}
}

function deviceOfMount(mount: string): string {
	return execFileSync('mountpoint', ['-d', mount], {encoding: 'utf8'}).trim();
}

row('a stuck probe refuses the next probe of a file on its file system at once (exact reason, run.refused); files on other file systems still run', async t => {
	t.timeout(120_000);
	t.like(await run('py'), {status: 'ok', stdout: 'python ran\n'}, 'the kernel\'s way is found and kept by a real probe first (its file system is never hung)');
	const {hung} = await hang('h0');
	t.like(hung, {status: 'denied', reason: refusal('h0', timedOut(scripts['h0']!)), stdout: ''});
	t.like(hung.last, {event: 'run.refused', script: 'h0', status: 'denied', reason: refusal('h0', timedOut(scripts['h0']!))});
	t.is(stuckProbeThreads(), 1, 'its thread is still there: killing its child did not end it');

	const reason = refusal('h0', stuckHere(scripts['h0']!, deviceOfMount(mounts[0]!)));
	const again = await run('h0');
	t.like(again, {status: 'denied', reason, stdout: ''});
	t.like(again.last, {event: 'run.refused', script: 'h0', status: 'denied', reason});
	t.is(readdirSync(sleeps).length, 1, 'no other probe of that file system was made');
	t.like(await run('py'), {status: 'ok', stdout: 'python ran\n'}, 'a file on another file system is still probed');
	t.like((await hang('h1')).hung, {status: 'denied', reason: refusal('h1', timedOut(scripts['h1']!))}, 'and one on a third (hung too: refused when its bound passes)');
});

row('a probe queued behind one that hangs is sent to the next thread and gets the kernel\'s answer, not the other\'s timeout', async t => {
	t.timeout(120_000);
	const {hung, queued} = await hang('h2', async () => run('py'));
	t.like(hung, {status: 'denied', reason: refusal('h2', timedOut(scripts['h2']!))});
	t.like(hung.last, {event: 'run.refused', script: 'h2', status: 'denied', reason: refusal('h2', timedOut(scripts['h2']!))});
	t.like(queued, {status: 'ok', stdout: 'python ran\n'});
	t.like(queued?.last, {event: 'run.finish', script: 'py'});
});

row(`past ${stuckThreadsMax} stuck probe threads none is started: a ninth file system's probe, and any other, is refused at once (exact reason, run.refused)`, async t => {
	t.timeout(180_000);
	for (let index = 0; stuckProbeThreads() < stuckThreadsMax; index++) {
		if (!markerOf.has(`h${index}`)) {
			t.like((await hang(`h${index}`)).hung, {status: 'denied', reason: refusal(`h${index}`, timedOut(scripts[`h${index}`]!))});
		}
	}

	t.is(stuckProbeThreads(), stuckThreadsMax);
	const ninth = `h${stuckThreadsMax}`;
	const refused = await run(ninth);
	t.like(refused, {status: 'denied', reason: refusal(ninth, stuckAll(scripts[ninth]!)), stdout: ''});
	t.like(refused.last, {event: 'run.refused', script: ninth, status: 'denied', reason: refusal(ninth, stuckAll(scripts[ninth]!))});
	const other = await run('py');
	t.like(other, {status: 'denied', reason: refusal('py', stuckAll(scripts['py']!))});
	t.like(other.last, {event: 'run.refused', script: 'py', status: 'denied', reason: refusal('py', stuckAll(scripts['py']!))});
	t.like(await run('h0'), {status: 'denied', reason: refusal('h0', stuckHere(scripts['h0']!, deviceOfMount(mounts[0]!)))}, 'a stuck file system keeps its own reason');
	t.is(readdirSync(sleeps).length, stuckThreadsMax, 'no other thread was started');
});

row('a stuck thread that ends frees its file system and its place: the next probe there gets the kernel\'s answer', async t => {
	t.timeout(120_000);
	rmSync(join(mounts[0]!, '.hung'));
	releaseSleeps([markerOf.get('h0')!]);
	await waitFor(() => (stuckProbeThreads() === stuckThreadsMax - 1 ? true : undefined), 'h0\'s stuck thread to end once its wait does');
	const recovered = await run('h0');
	t.like(recovered, {status: 'ok', stdout: 'python ran\n'});
	t.like(recovered.last, {event: 'run.finish', script: 'h0'});
	t.like(await run('h1'), {status: 'denied', reason: refusal('h1', stuckHere(scripts['h1']!, deviceOfMount(mounts[1]!)))}, 'the others are still refused');

	releaseSleeps(readdirSync(sleeps));
	await waitFor(() => (stuckProbeThreads() === 0 ? true : undefined), 'the stuck threads to end once their wait does');
	for (const mount of mounts) {
		rmSync(join(mount, '.hung'), {force: true});
	}

	t.like(await run(`h${stuckThreadsMax}`), {status: 'ok', stdout: 'python ran\n'});
});
