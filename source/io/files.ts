/**
 * Small file helpers for the IO shell: atomic writes (temp file + rename, so a reader never sees
 * half a file) with an explicit mode, and reading JSON with a clear error.
 */
import {randomBytes} from 'node:crypto';
import {mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync, chmodSync} from 'node:fs';
import {dirname, join, basename} from 'node:path';
import {XiError} from '../errors.js';

export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
	const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
	try {
		writeFileSync(temporary, data, {mode, flag: 'wx'});
		chmodSync(temporary, mode);
		renameSync(temporary, path);
	} catch (error) {
		rmSync(temporary, {force: true});
		throw error;
	}
}

export function ensureDirectory(path: string, mode = 0o700): void {
	mkdirSync(path, {recursive: true, mode});
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
