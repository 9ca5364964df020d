/** The registry on disk: one JSON file that two `xi-exec` processes can change at once without losing either change. */
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import {writeFileAtomic} from '../io/files.js';
import {emptyRegistry, parseRegistry, type Registry} from './model.js';

export type RegistryStore = LockedJsonStore<Registry>;

export function openRegistryStore(path: string): RegistryStore {
	return openLockedJsonStore(path, {what: 'registry', empty: emptyRegistry, parse: parseRegistry, mode: 0o644});
}

export async function createRegistryFile(path: string): Promise<void> {
	writeFileAtomic(path, JSON.stringify(emptyRegistry(), null, '\t') + '\n', 0o644);
}
