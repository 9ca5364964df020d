/**
 * The registry on disk: one JSON file that two `xi-exec` processes can change at once without
 * losing either change, and beside it the journal of when agents last answered (registry/seen.ts):
 * `registry.seen.jsonl`, appended (one fsynced line, no lock) after every run instead of a locked
 * rewrite of the whole registry. Reading lays the journal over the file; every change of the file
 * folds the journal in, and once the journal outgrows half the registry (at least 64 KiB) that
 * change moves it aside to `registry.seen.old.jsonl`, still read until the next move replaces it
 * (so a line appended to the journal just as it is moved is not lost). And relay presence, as
 * each `xi-exec serve` counts it: `registry.presence.json`, changed under a brief lock on what is
 * on disk then, so that serves merge what they counted (registry/presence-state.ts).
 */
import {withBriefLock} from '../io/brief-lock.js';
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import {existsSync, readTextFile, writeFileAtomic} from '../io/files.js';
import {openSideJournal, sizeOf} from '../io/side-journal.js';
import {emptyRegistry, parseRegistry, type Registry, type SeenVia} from './model.js';
import {overlaySeen, parseSeen, seenLine} from './seen.js';
import {parsePresenceState, type PresenceState} from './presence-state.js';

export type RegistryStore = LockedJsonStore<Registry> & {
	/** Records that these agents answered at `at` (ISO 8601), over `via` when known: one appended, fsynced line; read() shows it. */
	markSeen: (names: readonly string[], at: string, via?: SeenVia) => Promise<void>;
	/** Relay presence as the serves last wrote it (registry/presence-state.ts); nothing known when there is none. */
	presence?: () => PresenceState;
	/** Changes the presence state under a lock, on what is on disk then (a serve, at each flush; a file that is not ours reads as nothing known). */
	updatePresence?: (change: (state: PresenceState) => PresenceState) => Promise<void>;
};

const minimumJournalBytes = 64 * 1024;

/** Where the journal of `registry.json` is kept, and where it goes once folded in. */
export function seenJournalPaths(path: string): {current: string; folded: string} {
	const stem = path.endsWith('.json') ? path.slice(0, -'.json'.length) : path;
	return {current: `${stem}.seen.jsonl`, folded: `${stem}.seen.old.jsonl`};
}

export function openRegistryStore(path: string): RegistryStore {
	const paths = seenJournalPaths(path);
	const journal = openSideJournal(paths.current, paths.folded, 0o644);
	const outgrown = () => journal.size() >= Math.max(minimumJournalBytes, sizeOf(path) / 2);
	const base = openLockedJsonStore(path, {
		what: 'registry',
		empty: emptyRegistry,
		parse: parseRegistry,
		mode: 0o644,
		// The change just written holds everything both journal files said.
		afterWrite() {
			if (outgrown()) {
				journal.moveAside();
			}
		},
	});
	const withSeen = (registry: Registry): Registry => overlaySeen(registry, parseSeen(journal.text()));
	const update: RegistryStore['update'] = async change => base.update(async registry => change(withSeen(registry)));
	const presencePath = presenceStatePath(path);
	return {
		read: async () => withSeen(await base.read()),
		presence: () => parsePresenceState(readIfThere(presencePath)),
		async updatePresence(change) {
			await withBriefLock(presencePath, () => {
				writeFileAtomic(presencePath, `${JSON.stringify(change(parsePresenceState(readIfThere(presencePath))))}\n`, 0o644);
			});
		},
		update,
		async markSeen(names, at, via) {
			if (names.length === 0) {
				return;
			}

			journal.append(seenLine(names, at, via));
			if (outgrown()) {
				// Now and then a run pays for one locked rewrite, which folds the journal in.
				await update(registry => registry);
			}
		},
	};
}

/** Where the serves keep relay presence for `registry.json`: `registry.presence.json`. */
export function presenceStatePath(path: string): string {
	return `${path.endsWith('.json') ? path.slice(0, -'.json'.length) : path}.presence.json`;
}

/** The file's text, or undefined when it is missing or unreadable (presence is then not known). */
function readIfThere(path: string): string | undefined {
	try {
		return existsSync(path) ? readTextFile(path, 'the relay presence state') : undefined;
	} catch {
		return undefined;
	}
}

export async function createRegistryFile(path: string): Promise<void> {
	writeFileAtomic(path, JSON.stringify(emptyRegistry(), null, '\t') + '\n', 0o644);
}
