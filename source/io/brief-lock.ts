/**
 * A cross-process lock around a short synchronous section (one audit batch: read the file's tail,
 * write, fsync), taken and released with one mkdir(2) and one rmdir(2) of `PATH.lock`: the lock
 * directory of proper-lockfile, with its staleness rule (no update for `staleMs`), so each excludes
 * the other. The agent daemon holds its log's lock for its life (holdLock, below: the same
 * directory, kept fresh by a refresh dated ahead).
 *
 * Why not proper-lockfile itself for these: it loads graceful-fs and signal-exit (a 51 KB chunk) on
 * the first lock, and takes each lock in four trips through the thread pool (mkdir, utimes, stat,
 * then rmdir) with a refresh timer; a one-shot `xi-exec run` locked its log three times. Here the
 * section runs between the mkdir and the rmdir without yielding to the event loop, so the lock is
 * never held across an await and needs no refresh (proper-lockfile's timer could not fire inside
 * such a section either). Only waiting for another holder is asynchronous: randomised backoff
 * between `minWaitMs` and `maxWaitMs`, `retries` times, as the audit log asked proper-lockfile to.
 */
import {mkdirSync, rmdirSync, statSync, utimesSync} from 'node:fs';

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
	await takeLock(lockPath, options);
	try {
		return section();
	} finally {
		rmdirSync(lockPath);
	}
}

/** Takes `lockPath`, waiting for another holder (backOff) `retries` times; then ELOCKED. */
async function takeLock(lockPath: string, options: BriefLockOptions): Promise<void> {
	for (let attempt = 0; !tryLock(lockPath, options.staleMs ?? lockStaleMs, options.now ?? Date.now); attempt++) {
		if (attempt >= (options.retries ?? 200)) {
			throw Object.assign(new Error(`${lockPath} is held by another process`), {code: 'ELOCKED'});
		}

		await backOff(attempt, options);
	}
}

/** Up to ~20 s in all by default: twice the staleness, so a holder killed outright is outwaited. */
async function backOff(attempt: number, options: BriefLockOptions): Promise<void> {
	const [min, max] = [options.minWaitMs ?? 5, options.maxWaitMs ?? 100];
	// A plain timer: node:timers/promises would be one more module loaded at every start.
	await new Promise(resolve => {
		setTimeout(resolve, Math.min(max, min * (1 + Math.random()) * (1.5 ** Math.min(attempt, 10))));
	});
}

/**
 * A lock held for a process's life is refreshed every `lockRefreshMs`, each time dated
 * `lockLeaseAheadMs` ahead: so while its holder lives it never looks older than 5 s (refresh less
 * lease), half the staleness, the margin proper-lockfile's refresh at half the staleness gave, with
 * half its wake-ups (a wake-up costs more than the refresh: bench/idle-lock.ts). A holder killed
 * outright is taken over 10 to 15 s later (lease plus staleness), within the ~20 s waiters outwait.
 * Waiters' rule is unchanged: taken over only after `lockStaleMs` past the lock's mtime.
 */
export const lockRefreshMs = lockStaleMs;
export const lockLeaseAheadMs = lockStaleMs / 2;

export type HoldLockOptions = BriefLockOptions & {
	refreshMs?: number;
	aheadMs?: number;
	/** Told (once; the refresh stops) that the lock directory is gone or another process's: by default, thrown from the timer, ending the process as proper-lockfile's default did. */
	compromised?: (error: Error) => void;
};

/**
 * Whether a live process holds `PATH.lock` now: it is there and not stale (a holder for its life
 * refreshes it, holdLock; one that died leaves it to go stale). Lets a pid file be trusted only
 * while the daemon that wrote it lives (agent.pid after a crash or a reboot may name anyone now).
 */
export function lockHeld(path: string, now = Date.now()): boolean {
	try {
		return statSync(`${path}.lock`).mtimeMs >= now - lockStaleMs;
	} catch {
		return false;
	}
}

/**
 * Takes `PATH.lock` for as long as the caller holds it (a daemon's audit log), waiting for another
 * holder as withBriefLock does, and keeps it fresh (lockRefreshMs): at each refresh one stat(2) to
 * see it is still the one this process made, one utimes(2) and one stat(2) for the new mtime, on
 * this thread (proper-lockfile made a stat and a utimes through the thread pool and graceful-fs,
 * every 5 s). Resolves with the release (removes the directory unless it is no longer this
 * process's); rejects with ELOCKED when another process held it throughout.
 */
export async function holdLock(path: string, options: HoldLockOptions = {}): Promise<() => Promise<void>> {
	const lockPath = `${path}.lock`;
	await takeLock(lockPath, options);
	const now = options.now ?? Date.now;
	const staleMs = options.staleMs ?? lockStaleMs;
	let mtimeMs = statSync(lockPath).mtimeMs;
	const ahead = options.aheadMs ?? lockLeaseAheadMs;
	let refreshedAt = now();
	let timer: NodeJS.Timeout | undefined;
	const compromised = (why: string) => {
		const error = Object.assign(new Error(`${lockPath} ${why} while this process held it: another process may have taken it over, so it no longer excludes other writers`), {code: 'ECOMPROMISED'});
		if (!options.compromised) {
			throw error;
		}

		options.compromised(error);
	};

	const schedule = (ms: number) => {
		timer = setTimeout(refresh, ms);
		timer.unref();
	};

	function refresh(): void {
		try {
			if (statSync(lockPath).mtimeMs !== mtimeMs) {
				compromised('was replaced (its mtime is not the one this process set)');
				return;
			}

			const time = (now() + ahead) / 1000;
			utimesSync(lockPath, time, time);
			mtimeMs = statSync(lockPath).mtimeMs;
			refreshedAt = now();
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
			// As proper-lockfile: a passing failure is tried again in 1 s, until the lock could have gone stale.
			if (code === 'ENOENT' || now() - refreshedAt > ahead + staleMs) {
				compromised(`could not be refreshed (${code})`);
			} else {
				schedule(1000);
			}

			return;
		}

		schedule(options.refreshMs ?? lockRefreshMs);
	}

	// Dated ahead at once: the next refresh is a whole interval away.
	refresh();
	return async () => {
		clearTimeout(timer);
		try {
			if (statSync(lockPath).mtimeMs === mtimeMs) {
				rmdirSync(lockPath);
			}
		} catch {
			// Gone already.
		}
	};
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
