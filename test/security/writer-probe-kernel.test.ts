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
 * - the exec is made on the probe thread (probe-thread.ts), never on the event loop: no child
 *   process handle is made on this thread; a probe thread that stops refuses the probes it held.
 */
import {createHook} from 'node:async_hooks';
import {spawn} from 'node:child_process';
import {chmodSync, closeSync, constants, existsSync, openSync} from 'node:fs';
import {release} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {stopProbeThread} from '../../agent/probe-thread.js';
import {chainMethod, chooseMethod, kernelProbe, probeWriter, readsArgumentsFirst, type ProbeMethod} from '../../agent/writer-check.js';
import {temporaryDirectory} from '../helpers/fleet.js';
import {executable} from './agent-run.js';

const directory = temporaryDirectory('xi-exec-writer-kernel-');
const marker = join(directory, 'ran');
const script = executable(join(directory, 'script.py'), `#!/usr/bin/python3\nopen(${JSON.stringify(marker)}, "w")\n`);
const busy = (path: string) => `${path} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${path} names the process), then run again`;

test('which way this kernel is asked agrees with its version (5.9 to 6.7 read the arguments first)', async t => {
	const [major = 0, minor = 0] = release().split('.').map(Number);
	const version = (major * 1000) + minor;
	const argumentsFirst = version >= 5009 && version < 6008;
	t.is(await readsArgumentsFirst(), argumentsFirst, `kernel ${release()}`);
	// And the way chosen answers ETXTBSY for a file held open for writing (else it would be 'none').
	t.is((await chooseMethod()).kind, argumentsFirst ? 'chain' : 'direct');
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
	t.is(await kernelProbe(method)(fd, script), `whether ${script} is open for writing cannot be checked (this kernel reads an exec's arguments before the file, and no private copy of the writer probe's file can be made to run (${join(directory, 'missing')}: ENOENT)); nothing ran`);
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
