/**
 * The run history on disk: `runs/<started>-<requestId>.jsonl` under the controller's home, one
 * file per run, appended as the run streams (0600). The header (and the new file's name) and the
 * end line are fsynced; the lines between reach the disk with the end line (the audit log, fsynced
 * per batch, is the evidence of each host's outcome; an fsync per host cost 0.6 s on a 100-host
 * run here). A torn last line after a crash is skipped when the file is read.
 * Retention by count and age (settings `historyMaxRuns`, `historyMaxAgeDays`), applied when a new
 * run starts: the runs to remove are planned first, so the caller can audit them before they go.
 */
import {readdirSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import {syncDirectory, type DurableFs, nodeFs, writeAll} from '../io/durable-fs.js';
import {ensureDirectory} from '../io/files.js';
import {requestIdPattern} from '../protocol/frames.js';
import {readLines} from './read-lines.js';
import {foldRun, type HistoryLine, type RunHeader, type StoredRun} from './run-record.js';

/** Where the run history lives: `runs/` under the controller's home. */
export function historyDirectory(paths: ControllerPaths): string {
	return join(paths.home, 'runs');
}

export type Retention = {maxRuns: number; maxAgeDays: number};
export const defaultRetention: Retention = {maxRuns: 1000, maxAgeDays: 90};

export type RunWriter = {
	/** Appends `line`; the header and the end line are fsynced, and the end line closes the file. */
	write: (line: HistoryLine) => void;
	/** Closes the file where the run stops without its end line (it failed); nothing once closed. */
	close: () => void;
	path: string;
};

/**
 * Creates the run's file, header first (fsynced, and the directory for its name), and keeps one
 * descriptor open for the run's lines (was an open and a close per line, two a host). It is
 * closed by the end line, by a write that fails (the caller stops writing: run-execute.ts), or
 * by close(); a write after that throws.
 */
export function startRunFile(directory: string, header: RunHeader, fs: DurableFs = nodeFs): RunWriter {
	ensureDirectory(directory);
	const path = join(directory, `${header.startedAt.replaceAll(':', '-')}_${header.requestId}.jsonl`);
	let fd: number | undefined = fs.open(path, 'append', 0o600);
	const close = () => {
		if (fd !== undefined) {
			const closing = fd;
			fd = undefined;
			fs.close(closing);
		}
	};

	const write = (line: HistoryLine) => {
		if (fd === undefined) {
			throw new Error(`the run history ${path} was written after it was closed`);
		}

		try {
			writeAll(fs, fd, JSON.stringify(line) + '\n');
			if (line.type === 'run' || line.type === 'end') {
				fs.fsync(fd);
			}
		} catch (error) {
			close();
			throw error;
		}

		if (line.type === 'end') {
			close();
		}
	};

	try {
		write(header);
		syncDirectory(directory, fs);
	} catch (error) {
		close();
		throw error;
	}

	return {write, close, path};
}

function runFiles(directory: string): string[] {
	try {
		return readdirSync(directory).filter(name => name.endsWith('.jsonl')).sort();
	} catch {
		return [];
	}
}

export type PrunedRun = {requestId: string; startedAt: string; reason: 'count' | 'age'};

/**
 * The runs to remove before one more is added: beyond `maxRuns` (oldest first, counting the new
 * one), or last written more than `maxAgeDays` ago. `added`: the new one's file, when it exists
 * already (it is that one, and it is never removed here).
 */
export function planPrune(directory: string, retention: Retention, now: Date, added?: string): PrunedRun[] {
	const files = runFiles(directory).filter(name => name !== added);
	const cutoff = now.getTime() - (retention.maxAgeDays * 86_400_000);
	return files.flatMap((name, index): PrunedRun[] => {
		const tooMany = index < files.length - retention.maxRuns + 1;
		const written = statSync(join(directory, name), {throwIfNoEntry: false})?.mtimeMs;
		if (written === undefined) {
			return [];
		}

		const old = written < cutoff;

		if (!tooMany && !old) {
			return [];
		}

		const [started = '', requestId = ''] = name.replace(/\.jsonl$/, '').split('_');
		return [{requestId, startedAt: started, reason: tooMany ? 'count' : 'age'}];
	});
}

/** Removes the planned runs' files (and makes the removal durable). */
export function removeRuns(directory: string, runs: readonly PrunedRun[]): void {
	if (runs.length === 0) {
		return;
	}

	for (const run of runs) {
		rmSync(join(directory, `${run.startedAt}_${run.requestId}.jsonl`), {force: true});
	}

	syncDirectory(directory);
}

/** Newest first. */
export function listRuns(directory: string, limit = 50): StoredRun[] {
	return runFiles(directory).reverse().slice(0, limit).map(name => readRunFile(join(directory, name))).filter((run): run is StoredRun => run !== undefined);
}

/** `keep`: each host's stream folded to its beginning (run-record.ts foldRun), for a reader that shows no more. */
export function findRun(directory: string, requestId: string, keep?: (header: RunHeader) => number): StoredRun {
	if (!requestIdPattern.test(requestId)) {
		throw new XiError('USAGE', `${JSON.stringify(requestId)} is not a request id; \`xi-exec runs\` lists them.`);
	}

	const name = runFiles(directory).find(file => file.endsWith(`_${requestId}.jsonl`));
	const run = name ? readRunFile(join(directory, name), keep) : undefined;
	if (!run) {
		throw new XiError('RUN_UNKNOWN', `No run ${requestId} in the history; \`xi-exec runs\` lists the recent ones.`);
	}

	return run;
}

function readRunFile(path: string, keep?: (header: RunHeader) => number): StoredRun | undefined {
	try {
		return foldRun(readLines(path), keep);
	} catch {
		return undefined;
	}
}
