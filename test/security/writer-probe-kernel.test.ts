/**
 * The writer probe asks the kernel in whichever way this kernel answers truly (writer-check.ts):
 * Linux 5.9 to 6.7 copy an exec's arguments before they open the file, so there the direct probe
 * (an oversized argument) failed with E2BIG whether or not anyone held the file open for writing,
 * and every script passed as unwritten. This host's kernel opens the file first, so it cannot show
 * that failure; what it shows:
 *
 * - which way this kernel needs, found from its behaviour, agrees with its version;
 * - the chain (used on 5.9 to 6.7) gives the direct probe's verdicts on real files: no writer, a
 *   writer in this process, a writer in another process (and again none once it is gone), a file
 *   the agent may not execute; and nothing runs (a script that would leave a mark leaves none);
 * - a chain that cannot be made is refused, saying why, rather than taken as "no writer";
 * - only the kernel's own answer picks the way and is kept: a transient failure (EAGAIN, EMFILE,
 *   the thread stopped or stuck) refuses the run that asked and the next asks again;
 * - an exec that hangs (a hung mount) is bounded: its child is killed, the probe refused, saying so;
 * - the exec is made on the probe thread (probe-thread.ts), never on the event loop: no child
 *   process handle is made on this thread; a probe thread that stops refuses the probes it held.
 */
import {createHook} from 'node:async_hooks';
import {spawn} from 'node:child_process';
import {chmodSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync} from 'node:fs';
import {release} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {deviceOf, execOffLoop, probeThreadForTests, stopProbeThread, stuckProbeThreads, type ExecCode, type ProbeExec} from '../../agent/probe-thread.js';
import {copyDirectories} from '../../agent/sealed-copy.js';
import {chainMethod, chooseMethod, keptMethod, kernelProbe, probeWriter, type ProbeMethod} from '../../agent/writer-check.js';
import {temporaryDirectory, waitFor} from '../helpers/fleet.js';
import {executable} from './agent-run.js';

const directory = temporaryDirectory('xi-exec-writer-kernel-');
const marker = join(directory, 'ran');
const script = executable(join(directory, 'script.py'), `#!/usr/bin/python3\nopen(${JSON.stringify(marker)}, "w")\n`);
const busy = (path: string) => `${path} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${path} names the process), then run again`;

test('this kernel is asked one way or the other, by its behaviour (mainline 5.9 to 6.7 read the arguments first; distributions backport)', async t => {
	const chosen = await chooseMethod();
	// The way chosen answered ETXTBSY for a file held open for writing (else it would be 'none').
	t.not(chosen.kind, 'none', `kernel ${release()}: ${chosen.kind === 'none' ? chosen.reason : ''}`);
	t.log(`kernel ${release()}: the ${chosen.kind} way`);
});

const methods: Array<[string, () => Promise<ProbeMethod>]> = [
	['direct', async () => ({kind: 'direct'})],
	['chain', async () => chainMethod()],
];

for (const [name, method] of methods) {
	test.serial(`${name}: no writer, a writer here, a writer in another process, then none again; nothing runs`, async t => {
		const probe = kernelProbe(await method());
		t.not((await method()).kind, 'none');
		const fd = openSync(script, constants.O_RDONLY);
		t.is(await probe(fd, script), undefined);
		const writer = openSync(script, 'r+');
		t.is(await probe(fd, script), busy(script));
		closeSync(writer);
		const other = spawn('sh', ['-c', 'exec 3>>"$0"; echo held; exec sleep 60', script], {stdio: ['ignore', 'pipe', 'ignore']});
		await new Promise(resolve => other.stdout.once('data', resolve));
		t.is(await probe(fd, script), busy(script), 'held open for writing by another process');
		other.kill('SIGKILL');
		await new Promise(resolve => other.once('exit', resolve));
		t.is(await probe(fd, script), undefined);
		closeSync(fd);
		t.false(existsSync(marker), 'the script never ran');
	});

	test.serial(`${name}: a file the agent may not execute cannot be checked, and says why`, async t => {
		const path = executable(join(directory, `${name}-plain`), '#!/usr/bin/python3\n');
		chmodSync(path, 0o644);
		const fd = openSync(path, constants.O_RDONLY);
		t.is(await kernelProbe(await method())(fd, path), `whether ${path} is open for writing cannot be checked (an exec of it failed with EACCES: the agent's user must be able to execute it, and it must not be on a noexec mount); nothing ran`);
		closeSync(fd);
	});
}

test('a chain whose files cannot be made is refused, saying why, never taken as no writer', async t => {
	const method = await chainMethod([join(directory, 'missing')]);
	t.like(method, {kind: 'none'});
	const fd = openSync(script, constants.O_RDONLY);
	t.is(await kernelProbe(method)(fd, script), `cannot check for writers of ${script}: this kernel reads an exec's arguments before the file, and no private copy of the writer probe's file can be made to run (${join(directory, 'missing')}: ENOENT); nothing ran, and the next run asks again`);
	closeSync(fd);
});

test.serial('the exec is made off the event loop: no child process handle is made on this thread, and the verdicts hold', async t => {
	const types: string[] = [];
	const hook = createHook({init(_id, type) {
		types.push(type);
	}}).enable();
	const fd = openSync(script, constants.O_RDONLY);
	const writer = openSync(script, 'r+');
	const held = await probeWriter(fd, script);
	closeSync(writer);
	const free = await probeWriter(fd, script);
	hook.disable();
	closeSync(fd);
	t.deepEqual([held, free], [busy(script), undefined]);
	t.false(types.includes('PROCESSWRAP'), `handles made on this thread: ${[...new Set(types)].join(', ')}`);
});

test.serial('a probe thread that stops answers the probes it held "cannot be checked"; the next probe starts another', async t => {
	const fd = openSync(script, constants.O_RDONLY);
	const probe = kernelProbe({kind: 'direct'});
	const asked = probe(fd, script);
	await stopProbeThread();
	t.is(await asked, `whether ${script} is open for writing cannot be checked (the agent's probe thread stopped); nothing ran`);
	t.is(await probe(fd, script), undefined);
	closeSync(fd);
});

/** An exec that answers `answers` in turn, and then as the kernel does. */
function scripted(...answers: ExecCode[]): {exec: (exec: ProbeExec) => Promise<ExecCode>; asked: () => number} {
	let asked = 0;
	return {
		async exec(exec) {
			asked++;
			return answers.length > 0 ? answers.shift() : execOffLoop(exec);
		},
		asked: () => asked,
	};
}

const orderRows: Array<[string, ExecCode[], ProbeMethod['kind'], string?]> = [
	['ETXTBSY: opens the file first', ['ETXTBSY'], 'direct'],
	['EACCES (noexec): opens the file first', ['EACCES'], 'direct'],
	['E2BIG, and the chain answers ETXTBSY', ['E2BIG', 'ELOOP', 'ETXTBSY'], 'chain'],
	['EAGAIN (fork refused)', ['EAGAIN'], 'none', 'asking the kernel how to check failed with EAGAIN'],
	['EMFILE', ['EMFILE'], 'none', 'asking the kernel how to check failed with EMFILE'],
	['the probe thread stopped', ['probe-thread'], 'none', 'asking the kernel how to check could not be made (the agent\'s probe thread stopped)'],
	['no answer in time', ['timeout'], 'none', 'asking the kernel how to check could not be made (its exec got no answer within 5 s and was killed: is a mount on its way hung?)'],
	['E2BIG, then EAGAIN in the chain\'s own test', ['E2BIG', 'EAGAIN'], 'none', 'this kernel reads an exec\'s arguments before the file, and testing its probe files failed with EAGAIN'],
	['E2BIG, then EAGAIN in the test on a held file', ['E2BIG', 'ELOOP', 'EAGAIN'], 'none', 'testing the way to check failed with EAGAIN'],
	['E2BIG, and the chain runs a held file (no ETXTBSY)', ['E2BIG', 'ELOOP', 'ELOOP'], 'none', 'this kernel executes a file that is open for writing (no ETXTBSY), so it cannot be asked'],
];

for (const [title, answers, kind, reason] of orderRows) {
	test.serial(`the way is picked only by the kernel's answer: ${title} → ${kind}${reason === undefined ? '' : ', not kept'}`, async t => {
		const open = readdirSync('/proc/self/fd').length;
		const method = await chooseMethod(undefined, scripted(...answers).exec);
		t.is(method.kind, kind);
		if (method.kind === 'none') {
			t.is(method.reason, reason ?? '');
			t.is(await kernelProbe(method)(0, script), `cannot check for writers of ${script}: ${reason}; nothing ran, and the next run asks again`);
		}

		if (method.kind === 'chain') {
			for (const descriptor of method.chain) {
				closeSync(descriptor);
			}
		}

		t.is(readdirSync('/proc/self/fd').length, open, 'no descriptor left open');
	});
}

test.serial('the kernel question, on a file system with a stuck probe, is not made: no way, not kept, saying which file system', async t => {
	const directories = copyDirectories();
	const held = openSync(directories[0]!, constants.O_RDONLY | constants.O_DIRECTORY);
	const device = deviceOf(held);
	closeSync(held);
	const method = await chooseMethod(directories, scripted('stuck-device').exec);
	t.deepEqual(method, {kind: 'none', reason: `asking the kernel how to check could not be made (an earlier probe of a file on its file system, device ${device}, is stuck in an exec that SIGKILL did not end (a hung mount: processes in state D); files on other file systems are still checked, this one not until that probe ends: the mount is the line with ${device} in /proc/self/mountinfo)`});
});

test.serial('a way that is no answer is not kept: the next probe asks again, and the kernel\'s answer is kept', async t => {
	const order = scripted('EAGAIN');
	const ask = keptMethod(async () => chooseMethod(undefined, order.exec));
	t.is((await ask()).kind, 'none');
	const kernel = (await ask()).kind;
	t.not(kernel, 'none', 'asked again');
	const asked = order.asked();
	t.is((await ask()).kind, kernel);
	t.is(order.asked(), asked, 'kept: not asked again');
});

test.serial('a probe thread that stops during the kernel question refuses that run; the next asks again', async t => {
	const ask = keptMethod(async () => chooseMethod());
	const first = ask();
	await stopProbeThread();
	t.like(await first, {kind: 'none', reason: 'asking the kernel how to check could not be made (the agent\'s probe thread stopped)'});
	t.not((await ask()).kind, 'none');
});

test.serial('an exec that never answers (a hung mount) is bounded: its child is killed, the probe refused; the next thread answers', async t => {
	t.timeout(60_000);
	const pidFile = join(directory, 'hung.pid');
	// Stands for spawn() stuck in an exec: the thread's spawn blocks in a child of its own and never answers.
	const hung = `require('node:child_process').spawn = () => require('node:child_process').spawnSync('sh', ['-c', 'echo $$ > "$0"; exec sleep 600', ${JSON.stringify(pidFile)}]);`;
	await stopProbeThread();
	probeThreadForTests(hung, 2000);
	const fd = openSync(script, constants.O_RDONLY);
	try {
		t.is(await kernelProbe({kind: 'direct'})(fd, script), `whether ${script} is open for writing cannot be checked (its exec got no answer within 5 s and was killed: is a mount on its way hung?); nothing ran`);
		const pid = readFileSync(pidFile, 'utf8').trim();
		// Gone, or a zombie; it may go between two reads (ENOENT): gone too.
		const gone = () => {
			try {
				return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
					return true;
				}

				throw error;
			}
		};
		for (let tries = 0; tries < 100 && !gone(); tries++) {
			await new Promise(resolve => setTimeout(resolve, 100));
		}

		t.true(gone(), 'the stuck child was killed');
	} finally {
		probeThreadForTests();
	}

	// The killed child frees its thread only once that thread's spawn returns and it ends; until then its
	// file system counts as stuck (probe-thread.ts), and a probe there is refused saying so.
	await waitFor(() => (stuckProbeThreads() === 0 ? true : undefined), 'the stuck probe thread to end');
	t.is(await kernelProbe({kind: 'direct'})(fd, script), undefined, 'the next probe starts another thread');
	closeSync(fd);
});
