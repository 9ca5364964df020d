/**
 * The brief lock (io/brief-lock.ts) against proper-lockfile, whose lock directory it shares: each
 * waits for the other, a stale directory (no update for 10 s: its holder died) is taken over, a
 * lock held throughout is refused with ELOCKED, and the directory is gone after the section,
 * whether it returned or threw. The lock a daemon holds for its life (holdLock, which replaced
 * proper-lockfile's for the audit log: cheaper refreshes, the same rule): refreshed while held,
 * so never taken over however long it is held; taken over once its holder is killed outright;
 * a holder whose directory was taken over or removed is told, and its release leaves the other's alone.
 */
import {spawn} from 'node:child_process';
import {existsSync, mkdirSync, rmdirSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import test from 'ava';
import lockfile from 'proper-lockfile';
import {holdLock, lockLeaseAheadMs, lockRefreshMs, lockStaleMs, withBriefLock} from '../../source/io/brief-lock.js';
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

test('the holder\'s rule: a live holder\'s lock never looks older than half the staleness (refreshed every 10 s, dated 5 s ahead), the margin proper-lockfile\'s refresh every 5 s gave; killed, it is stale within 15 s, inside the ~20 s waiters outwait', t => {
	t.is(lockStaleMs, 10_000);
	t.is(lockRefreshMs - lockLeaseAheadMs, lockStaleMs / 2);
	t.true(lockRefreshMs + lockLeaseAheadMs <= 15_000);
});

test('a held lock is refreshed, so it is never taken over while its holder lives, however long past the staleness', async t => {
	const path = file(t);
	// The agent's rule, at a tenth of its times: refreshed every second, dated 0.5 s ahead, stale after 1 s.
	const release = await holdLock(path, {refreshMs: 1000, aheadMs: 500});
	const first = statSync(`${path}.lock`).mtimeMs;
	let ran = false;
	// Waits ~3 s, three times the staleness: never stale.
	const error = await t.throwsAsync(withBriefLock(path, () => {
		ran = true;
	}, {staleMs: 1000, retries: 60, minWaitMs: 50, maxWaitMs: 50}), {message: `${path}.lock is held by another process`});
	t.is((error as NodeJS.ErrnoException).code, 'ELOCKED');
	t.false(ran);
	t.true(statSync(`${path}.lock`).mtimeMs > first, 'refreshed');
	t.true(lockfile.checkSync(path, {realpath: false, stale: 2000}), 'proper-lockfile sees it held and fresh');
	await release();
	t.false(existsSync(`${path}.lock`));
	t.is(await withBriefLock(path, () => 'ran', {staleMs: 1000}), 'ran');
});

test('holdLock waits for a brief holder and for proper-lockfile\'s, and is refused with ELOCKED when one holds it throughout', async t => {
	const path = file(t);
	const held = await lockfile.lock(path, {realpath: false, stale: 10_000});
	const waiting = holdLock(path, {minWaitMs: 1, maxWaitMs: 5});
	await held();
	const release = await waiting;
	t.true(existsSync(`${path}.lock`));
	const error = await t.throwsAsync(holdLock(path, {retries: 3, minWaitMs: 1, maxWaitMs: 2}), {message: `${path}.lock is held by another process`});
	t.is((error as NodeJS.ErrnoException).code, 'ELOCKED');
	await release();
});

test('a holder killed outright (SIGKILL) leaves its lock unrefreshed: it is taken over once stale, not before', async t => {
	const path = file(t);
	const module = pathToFileURL(join(import.meta.dirname, '../../source/io/brief-lock.ts')).href;
	const holder = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', `const {holdLock} = await import(${JSON.stringify(module)}); await holdLock(${JSON.stringify(path)}, {refreshMs: 1000, aheadMs: 500}); console.log('held'); setInterval(() => undefined, 1000);`], {stdio: ['ignore', 'pipe', 'inherit']});
	await new Promise(resolve => holder.stdout.once('data', resolve));
	await t.throwsAsync(withBriefLock(path, () => 'ran', {staleMs: 1000, retries: 60, minWaitMs: 50, maxWaitMs: 50}), {message: `${path}.lock is held by another process`}, 'alive: held throughout 3 s with a staleness of 1 s');
	holder.kill('SIGKILL');
	await new Promise(resolve => holder.once('exit', resolve));
	const {mtimeMs} = statSync(`${path}.lock`);
	t.is(await withBriefLock(path, () => 'ran', {staleMs: 1000, retries: 200, minWaitMs: 20, maxWaitMs: 20}), 'ran');
	t.true(Date.now() >= mtimeMs + 1000, 'not taken over before it went stale');
});

test('a holder whose lock was taken over or removed is told (ECOMPROMISED), and its release leaves the other\'s lock alone', async t => {
	const path = file(t);
	const told: Error[] = [];
	const release = await holdLock(path, {refreshMs: 30, compromised: error => told.push(error)});
	// Another process's: removed and made again (mtime not the holder's).
	rmdirSync(`${path}.lock`);
	mkdirSync(`${path}.lock`);
	const old = new Date(Date.now() - 60_000);
	utimesSync(`${path}.lock`, old, old);
	for (let tries = 0; tries < 50 && told.length === 0; tries++) {
		await new Promise(resolve => setTimeout(resolve, 20));
	}

	t.is(told.length, 1);
	t.is(told[0]?.message, `${path}.lock was replaced (its mtime is not the one this process set) while this process held it: another process may have taken it over, so it no longer excludes other writers`);
	t.is((told[0] as NodeJS.ErrnoException).code, 'ECOMPROMISED');
	await release();
	t.true(existsSync(`${path}.lock`), 'the other\'s lock is left alone');

	const gone: Error[] = [];
	const second = file(t);
	await holdLock(second, {refreshMs: 30, compromised: error => gone.push(error)});
	rmdirSync(`${second}.lock`);
	for (let tries = 0; tries < 50 && gone.length === 0; tries++) {
		await new Promise(resolve => setTimeout(resolve, 20));
	}

	t.is(gone[0]?.message, `${second}.lock could not be refreshed (ENOENT) while this process held it: another process may have taken it over, so it no longer excludes other writers`);
});
