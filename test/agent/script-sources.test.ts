/**
 * Which scripts of a chain read a private copy and which their checked file (sealed-copy.ts
 * scriptSources), and the kernel's answer to "is this file open for writing" (writer-check.ts) on
 * real files: held open by this process, not held, and not executable (the check cannot be made).
 */
import {chmodSync, closeSync, existsSync, openSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {scriptSources} from '../../agent/sealed-copy.js';
import {oPath} from '../../agent/walk-path.js';
import {probeWriter} from '../../agent/writer-check.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const sources = [
	{title: 'a shell script', scripts: 1, executable: 'dash', expected: ['copy']},
	{title: 'a busybox sh script', scripts: 1, executable: 'busybox', expected: ['copy']},
	{title: 'a Python script', scripts: 1, executable: 'python3.11', expected: ['file']},
	{title: 'a Node script', scripts: 1, executable: 'node', expected: ['file']},
	{title: 'a Python script behind a shell wrapper: only the wrapper is the shell\'s to read', scripts: 2, executable: 'sh', expected: ['file', 'copy']},
	{title: 'a shell script behind a Python wrapper', scripts: 2, executable: 'python3', expected: ['file', 'file']},
	{title: 'four levels down to bash', scripts: 4, executable: 'bash', expected: ['file', 'file', 'file', 'copy']},
	{title: 'an ELF executable (no script)', scripts: 0, executable: 'uptime', expected: []},
	{title: 'a name that only starts like a shell', scripts: 1, executable: 'shellcheck', expected: ['file']},
];

for (const c of sources) {
	test(`scriptSources: ${c.title}`, t => {
		t.deepEqual(scriptSources(c.scripts, c.executable), c.expected);
	});
}

/** A script that leaves a marker if it ever runs. */
function script(mode: number): {path: string; fd: number; marker: string} {
	const directory = temporaryDirectory('xi-exec-writer-check-');
	const path = join(directory, 'script');
	const marker = join(directory, 'ran');
	writeFileSync(path, `#!/bin/sh\ntouch ${marker}\n`);
	chmodSync(path, mode);
	return {path, fd: openSync(path, oPath), marker};
}

test('probeWriter: no process holds the file open for writing → undefined (and nothing ran)', async t => {
	const {fd, marker} = script(0o755);
	t.teardown(() => closeSync(fd));
	t.is(await probeWriter(fd, 'the script'), undefined);
	t.false(existsSync(marker), 'the exec was refused (E2BIG): the script never ran');
});

test('probeWriter: this process holds it open for writing → ETXTBSY, worded; and undefined once it is closed', async t => {
	const {path, fd} = script(0o755);
	t.teardown(() => closeSync(fd));
	const writer = openSync(path, 'r+');
	t.is(await probeWriter(fd, path), `${path} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${path} names the process), then run again`);
	closeSync(writer);
	t.is(await probeWriter(fd, path), undefined);
});

test('probeWriter: a file the agent may not execute cannot be checked, and says why', async t => {
	const {path, fd} = script(0o644);
	t.teardown(() => closeSync(fd));
	t.is(await probeWriter(fd, path), `whether ${path} is open for writing cannot be checked (an exec of it failed with EACCES: the agent's user must be able to execute it, and it must not be on a noexec mount); nothing ran`);
});
