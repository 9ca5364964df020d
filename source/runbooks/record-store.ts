/**
 * Runbook runs on disk: `runbook-runs/<started>_<id>.jsonl` under the controller's home, one file
 * per run, every line appended and fsynced before the step it describes goes on (io/durable-fs.ts),
 * so a SIGKILL at any instant leaves each finished step and the one in flight readable. While a
 * process runs a runbook it holds a lock beside the file (proper-lockfile, refreshed every 5 s,
 * stale after 15 s): that tells "running" from "interrupted", and refuses a second process
 * resuming a run that is still going.
 *
 * Another process asks a run to stop by appending a `cancel-requested` line to its record (one
 * small O_APPEND write, fsynced); the process running it watches its record for one
 * (watchCancelRequest) and stops there.
 */
import {closeSync, openSync, readdirSync, readFileSync, readSync, statSync} from 'node:fs';
import {join} from 'node:path';
import lockfile from 'proper-lockfile';
import {XiError} from '../errors.js';
import {appendDurable, nodeFs, type DurableFs} from '../io/durable-fs.js';
import {ensureDirectory} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {requestIdPattern} from '../protocol/frames.js';
import {foldRunbookRun, type CancelRequestLine, type RunbookRunHeader, type RunbookRunLine, type RunbookRunRecord} from './run-record.js';

const lockOptions = {realpath: false, stale: 15_000, update: 5000};

export function runbookRunsDirectory(paths: ControllerPaths): string {
	return join(paths.home, 'runbook-runs');
}

export type RunbookRecordWriter = {
	path: string;
	write: (line: RunbookRunLine) => void;
	/** Releases the "running" lock (after the end line). */
	close: () => Promise<void>;
};

/** Creates the record with its header (durably, with the new name) and takes its lock. */
export async function startRunbookRecord(directory: string, header: RunbookRunHeader, fs: DurableFs = nodeFs): Promise<RunbookRecordWriter> {
	ensureDirectory(directory);
	const path = join(directory, `${header.startedAt.replaceAll(':', '-')}_${header.id}.jsonl`);
	const write = (line: RunbookRunLine) => {
		appendDurable(path, JSON.stringify(line) + '\n', {mode: 0o600, created: line.type === 'runbook-run'}, fs);
	};

	write(header);
	const release = await lockfile.lock(path, {...lockOptions, onCompromised() {
		// Another process took the lock as stale (this one stalled over 15 s): the record stays ours to write.
	}});
	let released = false;
	return {
		path,
		write,
		async close() {
			if (!released) {
				released = true;
				await release().catch(() => undefined);
			}
		},
	};
}

function recordFiles(directory: string): string[] {
	try {
		return readdirSync(directory).filter(name => name.endsWith('.jsonl')).sort();
	} catch {
		return [];
	}
}

export type StoredRunbookRun = {record: RunbookRunRecord; running: boolean; path: string};

/** Newest first. */
export function listRunbookRuns(directory: string, limit = 50): StoredRunbookRun[] {
	return recordFiles(directory).reverse().slice(0, limit).flatMap(name => {
		const stored = readRecord(join(directory, name));
		return stored ? [stored] : [];
	});
}

export function findRunbookRun(directory: string, id: string): StoredRunbookRun {
	if (!requestIdPattern.test(id)) {
		throw new XiError('USAGE', `${JSON.stringify(id)} is not a runbook run id; \`xi-exec runbooks\` lists them.`);
	}

	const name = recordFiles(directory).find(file => file.endsWith(`_${id}.jsonl`));
	const stored = name ? readRecord(join(directory, name)) : undefined;
	if (!stored) {
		throw new XiError('RUNBOOK_RUN_UNKNOWN', `No runbook run ${id} in the history; \`xi-exec runbooks\` lists the recent ones.`);
	}

	return stored;
}

/** Whether `id` names a runbook run in the history (`xi-exec cancel ID` takes either kind of id). */
export function hasRunbookRun(directory: string, id: string): boolean {
	return requestIdPattern.test(id) && recordFiles(directory).some(file => file.endsWith(`_${id}.jsonl`));
}

function readRecord(path: string): StoredRunbookRun | undefined {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch {
		return undefined;
	}

	const record = foldRunbookRun(text.split('\n').filter(line => line.length > 0));
	if (!record) {
		return undefined;
	}

	const running = record.end === undefined && lockfile.checkSync(path, lockOptions);
	return {record, running, path};
}

/** Appends a cancel request to a run's record (another process's), durably. */
export function appendCancelRequest(path: string, request: CancelRequestLine, fs: DurableFs = nodeFs): void {
	appendDurable(path, JSON.stringify(request) + '\n', {mode: 0o600}, fs);
}

/** Appends a line to the record of a run no process is running any more (its end, written by a cancel). */
export function appendToStoppedRecord(path: string, line: RunbookRunLine, fs: DurableFs = nodeFs): void {
	appendDurable(path, JSON.stringify(line) + '\n', {mode: 0o600}, fs);
}

export type CancelWatch = {
	/** Looks now (the executor asks before each step, so a cancel that came between steps is never missed). */
	check: () => void;
	stop: () => void;
};

/**
 * Watches a run's record for a cancel request from another process and calls `onCancel` once
 * with the first. It looks every `intervalMs` (reading only what was appended since it last
 * looked) and whenever `check` is called.
 */
export function watchCancelRequest(path: string, onCancel: (request: CancelRequestLine) => void, intervalMs = 200): CancelWatch {
	let offset = 0;
	// Bytes after the last complete line read (a line being appended as it was read).
	let pending = Buffer.alloc(0);
	let found = false;
	const check = () => {
		if (found) {
			return;
		}

		let size: number;
		try {
			size = statSync(path).size;
		} catch {
			return;
		}

		if (size <= offset) {
			return;
		}

		const buffer = Buffer.alloc(size - offset);
		const fd = openSync(path, 'r');
		try {
			offset += readSync(fd, buffer, 0, buffer.length, offset);
		} finally {
			closeSync(fd);
		}

		const read = Buffer.concat([pending, buffer]);
		const complete = read.lastIndexOf(0x0A) + 1;
		pending = read.subarray(complete);
		for (const text of read.subarray(0, complete).toString('utf8').split('\n')) {
			if (!text.includes('"cancel-requested"')) {
				continue;
			}

			try {
				const line = JSON.parse(text) as RunbookRunLine;
				if (line.type === 'cancel-requested') {
					found = true;
					onCancel(line);
					return;
				}
			} catch {
				// A torn line is not a request.
			}
		}
	};

	const timer = setInterval(check, intervalMs);
	timer.unref();
	return {check, stop: () => clearInterval(timer)};
}
