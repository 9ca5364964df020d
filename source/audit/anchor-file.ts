/**
 * The anchor's file (anchor.ts): JSON, mode 0600, replaced whole (temp file, fsync, rename). Its
 * directory is not fsynced: a rename lost in a power cut leaves the anchor before it, which names a
 * record the log (fsynced before) still holds, so verify finds it behind, never ahead or torn.
 */
import {readFileSync} from 'node:fs';
import {replaceFileMayLag} from '../io/durable-fs.js';
import {parseAnchor, type Anchor} from './anchor.js';

/** The anchor in `path`; undefined when there is none; a string saying why the file is not one. */
export function readAnchor(path: string): Anchor | string | undefined {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		return code === 'ENOENT' ? undefined : `cannot read it: ${code ?? (error as Error).message}`;
	}

	try {
		return parseAnchor(JSON.parse(text));
	} catch {
		return 'it is not JSON';
	}
}

export function writeAnchor(path: string, anchor: Anchor): void {
	replaceFileMayLag(path, JSON.stringify(anchor) + '\n', 0o600);
}
