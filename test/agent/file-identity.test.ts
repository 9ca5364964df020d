/**
 * The agent's identity of a file it trusts, over a real agent: someone who can write the script
 * (or its `#!` interpreter, or the auth hook) changes it and puts its mtime back with `touch -r`
 * (coreutils, utimensat(2) to the nanosecond), so that device, inode, mtime, owner and mode — the
 * identity before ctime and size were added — all read as they did at load. Each row asserts:
 *
 * 1. the run that follows, carrying a two-person approval with the entry digest the controller
 *    took from `describe`, is refused by the file check with its exact reason and a `run.refused`
 *    record in the agent's own audit file; nothing runs;
 * 2. after a reload (SIGHUP — what an operator does after a legitimate edit) the agent runs the
 *    file as it is now, but the approval given before is refused by the entry digest check
 *    (approved-entry.ts): the digest covers ctime and size, so even a rewrite in place with its
 *    mtime set back is not the entry that was approved;
 * 3. the digest the agent describes after the reload is the one its own check expects: a new
 *    approval of the file as it is now runs.
 *
 * Neighbours: nothing changed (and a reload) keeps the digest and the approval; reading the file
 * moves its atime only and changes nothing; a hard link added beside the file (its ctime moves
 * with the link count) is refused until reload, as is a chmod put back: the agent cannot tell
 * those from a rewrite, and fails closed.
 */
import {execFileSync} from 'node:child_process';
import {chmodSync, copyFileSync, linkSync, openSync, closeSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {approvalId, approvedDigest, claim, host, reload, run, type Host, type Outcome} from '../helpers/approved-agent.js';
import {installScript, temporaryDirectory} from '../helpers/fleet.js';

const original = '#!INTERPRETER\necho "restarted $*"\n';
/** The same length as the original's echo line: a rewrite that keeps the size. */
const sameSize = 'echo "REWROTE   $*"\n';

/** A private copy of dash, so a row may write to the interpreter too. */
function interpreterCopy(): string {
	const path = join(temporaryDirectory('xi-exec-interp-'), 'dash');
	copyFileSync('/usr/bin/dash', path);
	chmodSync(path, 0o755);
	return path;
}

/** Sets `file`'s atime and mtime back to what `reference` holds (touch -r: nanoseconds). */
function touchBack(file: string, reference: string): void {
	execFileSync('touch', ['-r', reference, file]);
}

/** Keeps `file`'s times in a new empty file, for touchBack. */
function keepTimes(file: string): string {
	const reference = join(temporaryDirectory('xi-exec-times-'), 'reference');
	writeFileSync(reference, '');
	execFileSync('touch', ['-r', file, reference]);
	return reference;
}

/** Writes `text` over the start of the file, without truncating it (O_WRONLY, no O_TRUNC). */
function writeInPlace(path: string, text: string, at: number): void {
	const fd = openSync(path, 'r+');
	try {
		writeSync(fd, text, at);
	} finally {
		closeSync(fd);
	}
}

type Fixture = Host & {interpreter: string};

type Row = {
	title: string;
	/** What is changed: the script or its interpreter. */
	target: 'script' | 'interpreter';
	change: (fixture: Fixture, path: string) => void;
	/** Does the identity before this fix (dev, ino, mtime, uid, mode) tell the file changed? */
	oldIdentitySees: boolean;
	/** Put the mtime back afterwards (touch -r); a chmod or a link leaves it as it was anyway. */
	touchBack?: false;
	/** What the script prints once the change is reloaded. */
	stdout: string;
};

const scriptEcho = 'restarted now\n';
const echoLine = (path: string) => readFileSync(path, 'utf8').indexOf('echo');

const rows: Row[] = [
	{
		title: 'the script rewritten in place, same size, mtime set back',
		target: 'script',
		change(_fixture, path) {
			writeInPlace(path, sameSize, echoLine(path));
		},
		oldIdentitySees: false,
		stdout: 'REWROTE   now\n',
	},
	{
		title: 'the script rewritten in place, longer, mtime set back',
		target: 'script',
		change(_fixture, path) {
			writeInPlace(path, 'echo "rewritten and longer: $*"\n', echoLine(path));
		},
		oldIdentitySees: false,
		stdout: 'rewritten and longer: now\n',
	},
	{
		title: 'the script truncated and written again, same size, mtime set back',
		target: 'script',
		change(_fixture, path) {
			const text = readFileSync(path, 'utf8');
			const at = echoLine(path);
			truncateSync(path, 0);
			writeInPlace(path, text.slice(0, at) + sameSize, 0);
		},
		oldIdentitySees: false,
		stdout: 'REWROTE   now\n',
	},
	{
		title: 'the script made writable by others and back (chmod 0777, chmod 0755)',
		target: 'script',
		change(_fixture, path) {
			chmodSync(path, 0o777);
			chmodSync(path, 0o755);
		},
		oldIdentitySees: false,
		touchBack: false,
		stdout: scriptEcho,
	},
	{
		title: 'a hard link to another file swapped in (ln -f), mtime matched',
		target: 'script',
		change(fixture, path) {
			const other = join(fixture.script, '..', 'other');
			writeFileSync(other, readFileSync(path, 'utf8').replace('restarted', 'swapped  '), {mode: 0o755});
			chmodSync(other, 0o755);
			execFileSync('ln', ['-f', other, path]);
		},
		oldIdentitySees: true,
		stdout: 'swapped   now\n',
	},
	{
		title: 'a hard link added beside the script (the link count moves its ctime)',
		target: 'script',
		change(_fixture, path) {
			linkSync(path, `${path}.link`);
		},
		oldIdentitySees: false,
		touchBack: false,
		stdout: scriptEcho,
	},
	{
		title: 'another file renamed over the script, same size, mtime matched',
		target: 'script',
		change(_fixture, path) {
			const text = readFileSync(path, 'utf8');
			writeFileSync(`${path}.new`, text.slice(0, echoLine(path)) + sameSize, {mode: 0o755});
			chmodSync(`${path}.new`, 0o755);
			renameSync(`${path}.new`, path);
		},
		oldIdentitySees: true,
		stdout: 'REWROTE   now\n',
	},
	{
		title: 'the interpreter rewritten in place with its own bytes, mtime set back',
		target: 'interpreter',
		change(_fixture, path) {
			writeInPlace(path, readFileSync(path).subarray(0, 4).toString('latin1'), 0);
		},
		oldIdentitySees: false,
		stdout: scriptEcho,
	},
];

const fileChanged = (path: string) => `script restart is refused: ${path} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`;
const approvedBefore = (digest: string, now: string) => `script restart is refused: approval ${approvalId} was given for another allowlist entry for restart on db1 (approved ${digest.slice(0, 12)}…, now ${now.slice(0, 12)}…): the entry, its script or its interpreter changed since the approval; ask for approval again`;

async function fixture(t: {teardown: (fn: () => Promise<void>) => void}): Promise<Fixture> {
	const interpreter = interpreterCopy();
	const started = await host(t, {body: original.replace('INTERPRETER', interpreter)});
	return {...started, interpreter};
}

/** The identity the agent had before ctime and size, as stat reads it now. */
function oldIdentity(path: string): unknown {
	const stats = statSync(path, {bigint: true});
	return {dev: String(stats.dev), ino: String(stats.ino), mtimeNs: String(stats.mtimeNs), uid: Number(stats.uid), mode: Number(stats.mode)};
}

function assertRefused(t: ExecutionContext, outcome: Outcome, reason: string): void {
	t.is(outcome.status, 'denied');
	t.is(outcome.reason, reason);
	t.is(outcome.stdout, '');
	t.false(outcome.records.some(record => record['event'] === 'run.start'), 'nothing ran');
	t.like(outcome.records.find(record => record['event'] === 'run.refused'), {event: 'run.refused', agent: 'db1', script: 'restart', status: 'denied', approvalId, reason});
}

for (const row of rows) {
	test(`file identity: ${row.title}`, async t => {
		const target = await fixture(t);
		const digest = await approvedDigest(target);
		const path = row.target === 'script' ? target.script : target.interpreter;
		const before = oldIdentity(path);
		const times = keepTimes(path);
		row.change(target, path);
		if (row.touchBack !== false) {
			touchBack(path, times);
		}

		// The attack row by row: what the identity without ctime and size would have seen.
		t.is(JSON.stringify(oldIdentity(path)) !== JSON.stringify(before), row.oldIdentitySees, 'what the identity before ctime and size saw');

		assertRefused(t, await run(target, claim(digest)), fileChanged(path));

		await reload(target);
		const now = await approvedDigest(target);
		t.not(now, digest, 'the described digest follows the change');
		assertRefused(t, await run(target, claim(digest)), approvedBefore(digest, now));

		const approvedNow = await run(target, claim(now));
		t.is(approvedNow.status, 'ok', approvedNow.reason);
		t.is(approvedNow.stdout, row.stdout);
		t.like(approvedNow.records.find(record => record['event'] === 'run.finish'), {status: 'ok', approvalId});
	});
}

test('file identity: nothing changed, and a reload, keeps the digest and the approval', async t => {
	const target = await fixture(t);
	const digest = await approvedDigest(target);
	const first = await run(target, claim(digest));
	t.is(first.status, 'ok', first.reason);
	await reload(target);
	t.is(await approvedDigest(target), digest);
	const again = await run(target, claim(digest));
	t.is(again.status, 'ok', again.reason);
	t.is(again.stdout, 'restarted now\n');
});

test('file identity: reading the script (its atime) changes nothing', async t => {
	const target = await fixture(t);
	const digest = await approvedDigest(target);
	const before = statSync(target.script, {bigint: true}).ctimeNs;
	readFileSync(target.script);
	readFileSync(target.interpreter);
	t.is(statSync(target.script, {bigint: true}).ctimeNs, before);
	const outcome = await run(target, claim(digest));
	t.is(outcome.status, 'ok', outcome.reason);
	t.is(await approvedDigest(target), digest);
});

test('file identity: the auth hook rewritten in place with its mtime set back is refused until reload', async t => {
	const hook = installScript('hook', '#!/usr/bin/env node\nprocess.stdout.write(JSON.stringify({allow: true, reason: "hook A"}));\n');
	const target = await host(t, {hook});
	const times = keepTimes(hook);
	const text = readFileSync(hook, 'utf8');
	writeInPlace(hook, 'hook B', text.indexOf('hook A'));
	touchBack(hook, times);

	const refused = await run(target, undefined);
	const reason = `the auth hook is refused: ${hook} changed since the agent loaded it; check it, then reload the agent (SIGHUP)`;
	t.is(refused.status, 'denied');
	t.is(refused.reason, reason);
	t.like(refused.records.find(record => record['event'] === 'decision'), {allowed: false, reason});
	t.false(refused.records.some(record => record['event'] === 'run.start'), 'nothing ran');

	await reload(target);
	const allowed = await run(target, undefined);
	t.is(allowed.status, 'ok', allowed.reason);
	t.like(allowed.records.find(record => record['event'] === 'decision'), {allowed: true, reason: 'hook B'});
});
