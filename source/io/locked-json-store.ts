/**
 * A JSON file that several processes may change at once: lowdb (`Low`) over an adapter that
 * writes atomically (temp file + rename) with a chosen mode, and every read-modify-write under a
 * cross-process lock (proper-lockfile), re-reading the file inside it, since lowdb keeps no lock
 * between processes. Used by the registry, the token, approval and MCP call stores.
 *
 * A read of a file that has not changed since this store last parsed it (same inode, size, change
 * and modification times, in nanoseconds; every write replaces the file, so a new inode) hands
 * back what that read parsed, without reading or parsing again, while anything still holds it: a
 * run reads the registry twice, which at 1000 agents cost 67 ms each, and the REST API reads it for
 * every request. The store itself holds what it parsed only weakly (a WeakRef): a 10,000-agent
 * registry is 12 MiB of heap, which V8 lets the old generation grow to about four times before it
 * collects, so a run that keeps only what it needs of it peaks ~25 MiB lower. For the same reason
 * each read and each write has a `Low` of its own: a `Low` keeps the last data it read or wrote. Treat what read()
 * returns as immutable (a change goes through update(), which always reads the file anew under
 * the lock). A file that is not there reads as `empty()`.
 */
import {readFileSync, statSync} from 'node:fs';
import {Low, type Adapter} from 'lowdb';
import {XiError} from '../errors.js';
import {existsSync, writeFileAtomic} from './files.js';
import {outwaitingLockOptions} from './brief-lock.js';

export type LockedJsonStore<T> = {
	read: () => Promise<T>;
	/** `change` runs under the lock on what is on disk now; it may be async (an audit record written before the change, say). */
	update: (change: (data: T) => T | Promise<T>) => Promise<T>;
};

class AtomicJsonFile<T> implements Adapter<T> {
	constructor(private readonly path: string, private readonly mode: number) {}

	/**
	 * Read synchronously: readFileSync(path, 'utf8') makes the string without a Buffer of the file,
	 * where fs.readFile's callback form makes one the file's size, alive beside the text and the
	 * parsed value until the event loop turns: a 10,000-agent registry's read peaked 10.6 MiB
	 * higher. The parse that follows holds the thread longer than the read anyway (11 MB: ~60
	 * against ~5 ms).
	 */
	async read(): Promise<T | null> {
		try {
			return JSON.parse(readFileSync(this.path, 'utf8')) as T;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
				return null;
			}

			throw error;
		}
	}

	async write(data: T): Promise<void> {
		writeFileAtomic(this.path, JSON.stringify(data, null, '\t') + '\n', this.mode);
	}
}

export type LockedJsonOptions<T> = {
	what: string;
	empty: () => T;
	parse: (value: unknown) => T | string;
	mode?: number;
	/** Runs under the lock once a change is written (the registry folds its lastSeen journal away here). */
	afterWrite?: () => void;
};

export function openLockedJsonStore<T extends object>(path: string, options: LockedJsonOptions<T>): LockedJsonStore<T> {
	const file = new AtomicJsonFile<T>(path, options.mode ?? 0o600);

	let lastRead: {identity: string; value: WeakRef<T>} | undefined;

	async function read(): Promise<T> {
		const identity = fileIdentity(path);
		const held = identity !== undefined && lastRead?.identity === identity ? lastRead.value.deref() : undefined;
		if (held !== undefined) {
			return held;
		}

		const value = await readAnew();
		// Stated before reading: a file replaced in between is read again next time, never the reverse.
		lastRead = identity === undefined ? undefined : {identity, value: new WeakRef(value)};
		return value;
	}

	async function readAnew(): Promise<T> {
		const db = new Low<T>(file, options.empty());
		try {
			await db.read();
		} catch (error) {
			throw new XiError('CONFIG_INVALID', `The ${options.what} at ${path} cannot be read (${(error as Error).message}); restore it from a backup.`, {cause: error});
		}

		const parsed = options.parse(db.data);
		if (typeof parsed === 'string') {
			throw new XiError('CONFIG_INVALID', `The ${options.what} at ${path} is malformed: ${parsed}.`);
		}

		return parsed;
	}

	async function update(change: (data: T) => T | Promise<T>): Promise<T> {
		if (!existsSync(path)) {
			await file.write(options.empty());
		}

		let release: () => Promise<void>;
		try {
			// Loaded by the first change only: a command that only reads (help, --version, `runs`) does not pay for the lock library.
			const {default: lockfile} = await import('proper-lockfile');
			release = await lockfile.lock(path, outwaitingLockOptions);
		} catch (error) {
			throw new XiError('REGISTRY_BUSY', `Another xi-exec process holds the lock on ${path}; try again in a moment.`, {cause: error});
		}

		try {
			const next = await change(await readAnew());
			await new Low<T>(file, next).write();
			options.afterWrite?.();
			return next;
		} finally {
			await release();
		}
	}

	return {read, update};
}

/** What changes whenever the file does (undefined when it is absent): a read parses again when it differs. */
function fileIdentity(path: string): string | undefined {
	try {
		const stats = statSync(path, {bigint: true});
		return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
	} catch {
		return undefined;
	}
}
