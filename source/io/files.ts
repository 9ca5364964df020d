/**
 * Small file helpers for the IO shell: atomic, durable writes (durable-fs.ts: temp file, fsync,
 * rename, fsync the directory, so neither a reader nor a power cut ever sees half a file) with an
 * explicit mode, and reading JSON with a clear error.
 */
import {mkdirSync, readFileSync, existsSync} from 'node:fs';
import {XiError} from '../errors.js';
import {dirname} from 'node:path';
import {syncDirectory, writeFileDurable} from './durable-fs.js';

/** Every state file is written through here (or durable-fs.ts directly). */
export const writeFileAtomic = writeFileDurable;

/** Creates the directory (and its parents) if missing; a new directory's name is made durable in its parent. */
export function ensureDirectory(path: string, mode = 0o700): void {
	const first = mkdirSync(path, {recursive: true, mode});
	if (first !== undefined) {
		syncDirectory(dirname(first));
	}
}

export function readJsonFile(path: string, what: string): unknown {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (error) {
		throw new XiError('CONFIG_INVALID', `Cannot read ${what} at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {cause: error});
	}

	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		throw new XiError('CONFIG_INVALID', `${what} at ${path} is not valid JSON (${(error as Error).message}); restore it from a backup or re-create it.`, {cause: error});
	}
}

export function readTextFile(path: string, what: string): string {
	try {
		return readFileSync(path, 'utf8');
	} catch (error) {
		throw new XiError('CONFIG_INVALID', `Cannot read ${what} at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {cause: error});
	}
}

export {existsSync};
