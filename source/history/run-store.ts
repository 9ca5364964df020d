/**
 * The run history on disk: `runs/<started>-<requestId>.jsonl` under the controller's home, one
 * file per run, appended as the run streams (0600). Retention by count and age, applied when a new
 * run starts.
 */
import {appendFileSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {ensureDirectory} from '../io/files.js';
import {requestIdPattern} from '../protocol/frames.js';
import {foldRun, type HistoryLine, type RunHeader, type StoredRun} from './run-record.js';

export type Retention = {maxRuns: number; maxAgeDays: number};
export const defaultRetention: Retention = {maxRuns: 1000, maxAgeDays: 90};

export type RunWriter = {write: (line: HistoryLine) => void; path: string};

export function startRunFile(directory: string, header: RunHeader, retention: Retention = defaultRetention, now = new Date()): RunWriter {
	ensureDirectory(directory);
	prune(directory, retention, now);
	const path = join(directory, `${header.startedAt.replaceAll(':', '-')}_${header.requestId}.jsonl`);
	const write = (line: HistoryLine) => {
		appendFileSync(path, JSON.stringify(line) + '\n', {mode: 0o600});
	};

	write(header);
	return {write, path};
}

function runFiles(directory: string): string[] {
	try {
		return readdirSync(directory).filter(name => name.endsWith('.jsonl')).sort();
	} catch {
		return [];
	}
}

function prune(directory: string, retention: Retention, now: Date): void {
	const files = runFiles(directory);
	const cutoff = now.getTime() - (retention.maxAgeDays * 86_400_000);
	files.forEach((name, index) => {
		const path = join(directory, name);
		const tooMany = index < files.length - retention.maxRuns + 1;
		if (tooMany || statSync(path).mtimeMs < cutoff) {
			rmSync(path, {force: true});
		}
	});
}

/** Newest first. */
export function listRuns(directory: string, limit = 50): StoredRun[] {
	return runFiles(directory).reverse().slice(0, limit).map(name => readRunFile(join(directory, name))).filter((run): run is StoredRun => run !== undefined);
}

export function findRun(directory: string, requestId: string): StoredRun {
	if (!requestIdPattern.test(requestId)) {
		throw new XiError('USAGE', `${JSON.stringify(requestId)} is not a request id; \`xi-exec runs\` lists them.`);
	}

	const name = runFiles(directory).find(file => file.endsWith(`_${requestId}.jsonl`));
	const run = name ? readRunFile(join(directory, name)) : undefined;
	if (!run) {
		throw new XiError('RUN_UNKNOWN', `No run ${requestId} in the history; \`xi-exec runs\` lists the recent ones.`);
	}

	return run;
}

function readRunFile(path: string): StoredRun | undefined {
	try {
		return foldRun(readFileSync(path, 'utf8').split('\n').filter(line => line.length > 0));
	} catch {
		return undefined;
	}
}
