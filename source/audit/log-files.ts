/**
 * The files of one audit log: the current file (`audit/agent.jsonl`) and the files rotated out of
 * it, each renamed once to `agent.jsonl.N` (N = 1, 2, ...) and never renamed again, so the name a
 * carry-over record gives its predecessor stays true. Oldest first, the current file last.
 */
import {readdirSync} from 'node:fs';
import {basename, dirname} from 'node:path';

/** 64 MiB: a file holds roughly 100 000 records before it rotates. */
export const defaultRotateBytes = 64 * 1024 * 1024;

/** The rotated files' numbers, ascending, from a directory listing. Pure. */
export function rotatedNumbers(currentName: string, names: readonly string[]): number[] {
	const numbers: number[] = [];
	for (const name of names) {
		if (name.startsWith(`${currentName}.`)) {
			const suffix = name.slice(currentName.length + 1);
			if (/^[1-9]\d{0,8}$/.test(suffix)) {
				numbers.push(Number(suffix));
			}
		}
	}

	return numbers.sort((a, b) => a - b);
}

/** The rotated files of the log at `path`, oldest first (full paths). */
export function rotatedFiles(path: string): string[] {
	return rotatedNumbers(basename(path), safeList(dirname(path))).map(number => `${path}.${number}`);
}

/** Where the current file goes when it rotates: one past the newest rotated file. */
export function nextRotatedFile(path: string): string {
	const numbers = rotatedNumbers(basename(path), safeList(dirname(path)));
	return `${path}.${(numbers.at(-1) ?? 0) + 1}`;
}

/** Every file of the log, oldest first: rotated files, then the current one. */
export function logFileSet(path: string): string[] {
	return [...rotatedFiles(path), path];
}

function safeList(directory: string): string[] {
	try {
		return readdirSync(directory);
	} catch {
		return [];
	}
}
