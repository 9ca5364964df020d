/**
 * Reads an audit log from disk: the current file and the files rotated out of it (log-files.ts),
 * oldest first, as verifyLogSet reads them. A log that does not exist yet reads as empty.
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {basename} from 'node:path';
import {XiError} from '../errors.js';
import {logFileSet} from './log-files.js';
import {parseRecords, type AuditRecord} from './record.js';
import type {LogFile} from './verify-set.js';

export function readAuditLines(path: string): string[] {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT') {
			return [];
		}

		throw new XiError('CONFIG_INVALID', `Cannot read the audit log ${path} (${code ?? (error as Error).message}).`, {cause: error});
	}

	const lines = text.split('\n');
	if (lines.at(-1) === '') {
		lines.pop();
	}

	return lines;
}

/** Every file of the log at `path` (rotated files first). */
export function readAuditSet(path: string): LogFile[] {
	return logFileSet(path).filter(file => file === path || existsSync(file)).map(file => ({name: basename(file), label: file, lines: readAuditLines(file), bytes: fileBytes(file)}));
}

/** The records of every file of the log, oldest first. */
export function readAuditRecords(path: string): AuditRecord[] {
	return parseRecords(readAuditSet(path).flatMap(file => file.lines));
}

function fileBytes(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		return 0;
	}
}
