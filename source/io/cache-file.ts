/**
 * A JSON file that only saves work (a cache): read whole, written whole and atomically, no lock.
 * Of two processes writing at once the last wins; a file that cannot be read or parsed reads as
 * `empty`, so losing it only costs the work it saved.
 */
import {readFileSync} from 'node:fs';
import {writeFileAtomic} from './files.js';

export type CacheFile<T> = {
	read: () => T;
	/** Applies `change` to the content as it is on disk now. */
	change: (change: (content: T) => T) => void;
};

export function openCacheFile<T>(path: string, parse: (value: unknown) => T, empty: T): CacheFile<T> {
	const read = (): T => {
		try {
			return parse(JSON.parse(readFileSync(path, 'utf8')));
		} catch {
			return empty;
		}
	};

	return {
		read,
		change(change) {
			writeFileAtomic(path, JSON.stringify(change(read())) + '\n', 0o600);
		},
	};
}
