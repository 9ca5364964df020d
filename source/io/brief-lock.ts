/**
 * A cross-process lock around a short synchronous section (one audit batch: read the file's tail,
 * write, fsync), taken and released with one mkdir(2) and one rmdir(2) of `PATH.lock`: the lock
 * directory of proper-lockfile, with its staleness rule (no update for `staleMs`), so each excludes
 * the other (the agent daemon holds its log with proper-lockfile for its life).
 *
 * Why not proper-lockfile itself for these: it loads graceful-fs and signal-exit (a 51 KB chunk) on
 * the first lock, and takes each lock in four trips through the thread pool (mkdir, utimes, stat,
 * then rmdir) with a refresh timer; a one-shot `xi-exec run` locked its log three times. Here the
 * section runs between the mkdir and the rmdir without yielding to the event loop, so the lock is
 * never held across an await and needs no refresh (proper-lockfile's timer could not fire inside
 * such a section either). Only waiting for another holder is asynchronous: randomised backoff
 * between `minWaitMs` and `maxWaitMs`, `retries` times, as the audit log asked proper-lockfile to.
 */
import {mkdirSync, rmdirSync, statSync} from 'node:fs';

/** When a lock no process refreshed or released is taken over: the same for every lock of the project. */
export const lockStaleMs = 10_000;

/**
 * proper-lockfile's options for a lock taken across processes: retried for ~20 s, twice the
 * staleness, so a holder killed outright (SIGKILL, the OOM killer) is outwaited, not reported busy.
 */
export const outwaitingLockOptions = {realpath: false, stale: lockStaleMs, retries: {retries: 200, minTimeout: 5, maxTimeout: 100, randomize: true}} as const;

export type BriefLockOptions = {staleMs?: number; retries?: number; minWaitMs?: number; maxWaitMs?: number; now?: () => number};

/**
 * Runs `section` holding `PATH.lock`; it must not be asynchronous. Throws what the section threw,
 * or an error with code ELOCKED (as proper-lockfile's) when another process held the lock throughout.
 */
export async function withBriefLock<T>(path: string, section: () => T, options: BriefLockOptions = {}): Promise<T> {
	const lockPath = `${path}.lock`;
	const retries = options.retries ?? 200;
	for (let attempt = 0; ; attempt++) {
		if (tryLock(lockPath, options.staleMs ?? lockStaleMs, options.now ?? Date.now)) {
			try {
				return section();
			} finally {
				rmdirSync(lockPath);
			}
		}

		if (attempt >= retries) {
			throw Object.assign(new Error(`${lockPath} is held by another process`), {code: 'ELOCKED'});
		}

		// Up to ~20 s in all by default: twice the staleness, so a holder killed outright is outwaited.
		const [min, max] = [options.minWaitMs ?? 5, options.maxWaitMs ?? 100];
		// A plain timer: node:timers/promises would be one more module loaded at every start.
		await new Promise(resolve => {
			setTimeout(resolve, Math.min(max, min * (1 + Math.random()) * (1.5 ** Math.min(attempt, 10))));
		});
	}
}

/** Takes the lock directory; a stale one (its holder gone without removing it) is removed first. */
function tryLock(lockPath: string, staleMs: number, now: () => number): boolean {
	if (makeDirectory(lockPath)) {
		return true;
	}

	let mtimeMs: number;
	try {
		({mtimeMs} = statSync(lockPath));
	} catch (error) {
		// Released between our mkdir and our stat: try once more, as proper-lockfile does.
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return makeDirectory(lockPath);
		}

		throw error;
	}

	if (mtimeMs >= now() - staleMs) {
		return false;
	}

	try {
		rmdirSync(lockPath);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw error;
		}
	}

	return makeDirectory(lockPath);
}

function makeDirectory(lockPath: string): boolean {
	try {
		mkdirSync(lockPath);
		return true;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
			return false;
		}

		throw error;
	}
}
