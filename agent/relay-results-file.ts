/**
 * The relay's kept results on disk (`relay-results` in the agent's home, 0600), so that an agent
 * restarted (or killed) after a run still answers a controller's `status` with the run's signed
 * result: one JSON line per result, `{"at": MS, "id": REQUEST_ID, "text": SIGNED_REPLY}`, appended
 * and fsynced before the result is published (the file held open between appends: an open and a
 * close per result cost more than the write; opened again after a rewrite, which puts a new file
 * under the name, and after a failed append). Bounded: at start, and whenever the file holds twice
 * the results still kept (and at least `compactAfter` lines), it is rewritten with only those
 * (temp file, fsync, rename, fsync of the directory), so it never holds much more than one window.
 *
 * A damaged file (a line torn by a crash mid-append, bytes that are not ours, a file too large or
 * unreadable) never stops the agent: what can be read is kept, the rest is forgotten, and `load`
 * says so once; the file is rewritten whole from what was kept. When even that fails, results are
 * kept in memory only (said once too).
 */
import {readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {nodeFs, writeAll, writeFileDurable, type DurableFs} from '../source/io/durable-fs.js';
import {requestIdPattern} from '../source/protocol/frames.js';
import type {KeptResult, RelayResults, ResultMemory} from './relay-results.js';

export const relayResultsFile = 'relay-results';

/** A signed terminal reply is a few hundred bytes; a line far larger is not one of ours. */
const maxLineBytes = 256 * 1024;
const maxFileBytes = 64 * 1024 * 1024;

export type ResultsFileLoad = {
	/** How many results were loaded. */
	kept: number;
	/** What was wrong with the file, in words (said once, at start), or undefined when it was sound. */
	problem?: string;
};

/** The results a file's text holds, and how many of its lines were not results. */
export function parseResults(text: string): {results: KeptResult[]; damaged: number} {
	const results: KeptResult[] = [];
	let damaged = 0;
	for (const line of text.split('\n')) {
		if (line === '') {
			continue;
		}

		const result = line.length <= maxLineBytes ? parseLine(line) : undefined;
		if (result) {
			results.push(result);
		} else {
			damaged++;
		}
	}

	return {results, damaged};
}

function parseLine(line: string): KeptResult | undefined {
	try {
		const value = JSON.parse(line) as Partial<KeptResult> | null;
		if (value !== null && typeof value === 'object' && Number.isSafeInteger(value.at) && typeof value.id === 'string' && requestIdPattern.test(value.id) && typeof value.text === 'string' && value.text.startsWith('{')) {
			return {id: value.id, text: value.text, at: value.at!};
		}
	} catch {
		// Not a line of ours: counted as damaged.
	}

	return undefined;
}

export function resultLine(kept: KeptResult): string {
	return `${JSON.stringify({at: kept.at, id: kept.id, text: kept.text})}\n`;
}

/**
 * The results' memory in an agent's home: `load` fills `results` from the file (pruned to the
 * window) and rewrites it with what was kept; `memory` appends each result from then on,
 * compacting as it goes.
 */
export function relayResultsMemory(home: string, now: () => number, compactAfter = 1000, fs: DurableFs = nodeFs): {memory: ResultMemory; load: (results: RelayResults) => ResultsFileLoad} {
	const path = join(home, relayResultsFile);
	let results: RelayResults | undefined;
	let lines = 0;
	let disabled = false;
	let held: number | undefined;
	const release = () => {
		if (held !== undefined) {
			const fd = held;
			held = undefined;
			fs.close(fd);
		}
	};

	const rewrite = (kept: readonly KeptResult[]) => {
		release();
		writeFileDurable(path, kept.map(resultLine).join(''), 0o600, fs);
		lines = kept.length;
	};

	const append = (line: string) => {
		try {
			held ??= fs.open(path, 'append', 0o600);
			writeAll(fs, held, line);
			fs.fsync(held);
		} catch (error) {
			release();
			throw error;
		}
	};

	return {
		load(target) {
			results = target;
			const read = readResults(path);
			target.restore(read.results, now());
			const kept = target.entries(now());
			try {
				rewrite(kept);
			} catch (error) {
				disabled = true;
				const reason = `${path} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): results are kept in memory only until the agent restarts`;
				return {kept: kept.length, problem: read.problem ? `${read.problem}; ${reason}` : reason};
			}

			return {kept: kept.length, ...(read.problem ? {problem: read.problem} : {})};
		},
		memory: {
			remember(entry) {
				if (disabled) {
					return;
				}

				append(resultLine(entry));
				lines++;
				if (results && lines >= compactAfter) {
					const kept = results.entries(entry.at);
					if (lines >= 2 * kept.length) {
						rewrite(kept);
					}
				}
			},
		},
	};
}

function readResults(path: string): {results: KeptResult[]; problem?: string} {
	let text: string;
	try {
		const size = statSync(path).size;
		if (size > maxFileBytes) {
			return {results: [], problem: `${path} is ${size} bytes, larger than kept results can be (${maxFileBytes}): it was not read, and the results kept before the restart are forgotten`};
		}

		text = readFileSync(path, 'utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return {results: []};
		}

		return {results: [], problem: `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): the results kept before the restart are forgotten`};
	}

	const {results, damaged} = parseResults(text);
	return damaged === 0
		? {results}
		: {results, problem: `${path} holds ${damaged} damaged line${damaged === 1 ? '' : 's'} (torn by a crash, or not written by the agent): ${damaged === 1 ? 'it is' : 'they are'} skipped, and the ${results.length} readable result${results.length === 1 ? ' is' : 's are'} kept`};
}
