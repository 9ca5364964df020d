/**
 * Runbook runs on disk: `runbook-runs/<started>_<id>.jsonl` under the controller's home, one file
 * per run, every line appended and fsynced before the step it describes goes on (io/durable-fs.ts),
 * so a SIGKILL at any instant leaves each finished step and the one in flight readable. While a
 * process runs a runbook it holds a lock beside the file (proper-lockfile, refreshed every 5 s,
 * stale after 15 s): that tells "running" from "interrupted", and refuses a second process
 * resuming a run that is still going.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import lockfile from 'proper-lockfile';
import {XiError} from '../errors.js';
import {appendDurable, nodeFs, type DurableFs} from '../io/durable-fs.js';
import {ensureDirectory} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {requestIdPattern} from '../protocol/frames.js';
import {foldRunbookRun, type RunbookRunHeader, type RunbookRunLine, type RunbookRunRecord} from './run-record.js';

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
