/**
 * The brief lock (io/brief-lock.ts) against proper-lockfile, whose lock directory it shares: each
 * waits for the other, a stale directory (no update for 10 s: its holder died) is taken over, a
 * lock held throughout is refused with ELOCKED, and the directory is gone after the section,
 * whether it returned or threw.
 */
import {existsSync, mkdirSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import lockfile from 'proper-lockfile';
import {withBriefLock} from '../../source/io/brief-lock.js';
import {temporaryDirectory} from '../audit/helpers.js';

function file(t: Parameters<typeof temporaryDirectory>[0]): string {
	const path = join(temporaryDirectory(t), 'state');
	writeFileSync(path, '');
	return path;
}

test('the section runs holding PATH.lock, which is gone after it returns or throws', async t => {
	const path = file(t);
	t.is(await withBriefLock(path, () => (existsSync(`${path}.lock`) ? 'held' : 'not held')), 'held');
	t.false(existsSync(`${path}.lock`));
	await t.throwsAsync(withBriefLock(path, () => {
		throw new Error('the section failed');
	}), {message: 'the section failed'});
	t.false(existsSync(`${path}.lock`));
});

test('it waits for a proper-lockfile holder, and proper-lockfile waits for it', async t => {
	const path = file(t);
	const order: string[] = [];
	const release = await lockfile.lock(path, {realpath: false, stale: 10_000});
	// Its first try is made at once, synchronously, and finds the lock held.
	const waiting = withBriefLock(path, () => order.push('brief'), {minWaitMs: 1, maxWaitMs: 5});
	order.push('released');
	await release();
	await waiting;
	t.deepEqual(order, ['released', 'brief']);

	// The other way: proper-lockfile cannot take the lock while a section runs (it is synchronous, so check from inside).
	await withBriefLock(path, () => {
		t.true(lockfile.checkSync(path, {realpath: false, stale: 10_000}));
	});
	t.false(lockfile.checkSync(path, {realpath: false, stale: 10_000}));
});

test('a stale lock directory (no update for 10 s) is taken over; a fresh one held throughout is refused with ELOCKED', async t => {
	const path = file(t);
	mkdirSync(`${path}.lock`);
	const old = new Date(Date.now() - 11_000);
	utimesSync(`${path}.lock`, old, old);
	t.is(await withBriefLock(path, () => 'ran'), 'ran');
	t.false(existsSync(`${path}.lock`));

	mkdirSync(`${path}.lock`);
	let ran = false;
	const error = await t.throwsAsync(withBriefLock(path, () => {
		ran = true;
	}, {retries: 3, minWaitMs: 1, maxWaitMs: 2}), {message: `${path}.lock is held by another process`});
	t.is((error as NodeJS.ErrnoException).code, 'ELOCKED');
	t.false(ran);
	t.true(existsSync(`${path}.lock`), 'another holder\'s lock is left alone');
});
