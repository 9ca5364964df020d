/**
 * The registry on disk: one JSON file written by lowdb (steno: temp file + rename, so it is never
 * half-written). lowdb keeps no lock between processes, so every read-modify-write takes a
 * cross-process lock (proper-lockfile) and re-reads the file inside it: two `xi-exec` processes
 * changing the fleet at once lose nothing.
 */
import {Low} from 'lowdb';
import {JSONFile} from 'lowdb/node';
import lockfile from 'proper-lockfile';
import {XiError} from '../errors.js';
import {emptyRegistry, parseRegistry, type Registry} from './model.js';

export type RegistryStore = {
	read(): Promise<Registry>;
	update(change: (registry: Registry) => Registry): Promise<Registry>;
};

export function openRegistryStore(path: string): RegistryStore {
	const db = new Low<Registry>(new JSONFile<Registry>(path), emptyRegistry());

	async function read(): Promise<Registry> {
		try {
			await db.read();
		} catch (error) {
			throw new XiError('CONFIG_INVALID', `The registry at ${path} cannot be read (${(error as Error).message}); restore it from a backup.`, {cause: error});
		}

		const registry = parseRegistry(db.data);
		if (typeof registry === 'string') {
			throw new XiError('CONFIG_INVALID', `The registry at ${path} is malformed: ${registry}.`);
		}

		return registry;
	}

	async function update(change: (registry: Registry) => Registry): Promise<Registry> {
		let release: () => Promise<void>;
		try {
			release = await lockfile.lock(path, {realpath: false, stale: 10_000, retries: {retries: 100, minTimeout: 10, maxTimeout: 100, randomize: true}});
		} catch (error) {
			throw new XiError('REGISTRY_BUSY', `Another xi-exec process holds the registry lock (${path}.lock); try again in a moment.`, {cause: error});
		}

		try {
			const next = change(await read());
			db.data = next;
			await db.write();
			return next;
		} finally {
			await release();
		}
	}

	return {read, update};
}

export async function createRegistryFile(path: string): Promise<void> {
	const db = new Low<Registry>(new JSONFile<Registry>(path), emptyRegistry());
	await db.write();
}
