/** The run-control flags of `xi-exec run`, checked together so every bad value is named. */
import {XiError} from '../errors.js';
import {parseAmount} from '../run/rollout.js';
import {findRun} from '../history/run-store.js';
import {runStatuses, type RunStatus} from '../protocol/frames.js';
import type {RunInput} from './run.js';

export type RunControl = {input: Partial<RunInput>; rerun?: string};

export function parseRunControl(flags: Record<string, unknown>): RunControl {
	const problems: string[] = [];
	const amount = (name: string) => {
		const text = flags[name.replaceAll(/-(\w)/g, (_, letter: string) => letter.toUpperCase())];
		if (typeof text !== 'string') {
			return undefined;
		}

		const parsed = parseAmount(name, text);
		if (typeof parsed === 'string') {
			problems.push(parsed);
			return undefined;
		}

		return parsed;
	};

	const seconds = (name: string, key: string) => {
		const value = flags[key];
		if (value === undefined) {
			return undefined;
		}

		if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
			problems.push(`--${name} must be whole seconds, at least 1; got ${String(value)}`);
			return undefined;
		}

		return value * 1000;
	};

	const batch = amount('batch');
	const maxFailures = amount('max-failures');
	const canary = flags['canary'];
	if (canary !== undefined && (typeof canary !== 'number' || !Number.isInteger(canary) || canary < 1)) {
		problems.push(`--canary must be a whole number of hosts, at least 1; got ${String(canary)}`);
	}

	const runTimeoutMs = seconds('run-timeout', 'runTimeout');
	const idleTimeoutMs = seconds('idle-timeout', 'idleTimeout');
	let only: RunStatus[] | undefined;
	if (typeof flags['only'] === 'string') {
		only = flags['only'].split(',').map(status => status.trim()) as RunStatus[];
		const unknown = only.filter(status => !(runStatuses as readonly string[]).includes(status));
		if (unknown.length > 0) {
			problems.push(`--only ${unknown.join(',')}: statuses are ${runStatuses.join(', ')}`);
		}
	}

	if (only && typeof flags['rerun'] !== 'string') {
		problems.push('--only goes with --rerun ID');
	}

	if (problems.length > 0) {
		throw new XiError('USAGE', `${problems.join('; ')}.`);
	}

	const rollout = {
		...(batch ? {batch} : {}),
		...(maxFailures ? {maxFailures} : {}),
		...(typeof canary === 'number' ? {canary} : {}),
		...(flags['ignoreUnreachable'] ? {ignoreUnreachable: true} : {}),
		...(flags['shuffle'] ? {shuffle: true} : {}),
		...(runTimeoutMs === undefined ? {} : {runTimeoutMs}),
		...(idleTimeoutMs === undefined ? {} : {idleTimeoutMs}),
	};
	// The questions (`ask`, `prompt`) are the face's to give: source/cli/terminal-questions.ts.
	const input: Partial<RunInput> = {
		rollout,
		yes: Boolean(flags['yes']),
		group: Boolean(flags['group']),
	};
	if (typeof flags['rerun'] !== 'string') {
		return {input};
	}

	return {input: {...input, rerun: {of: flags['rerun'], only: only ?? ['failed', 'timeout', 'unreachable', 'cancelled', 'denied', 'error', 'skipped']}}, rerun: flags['rerun']};
}

/** The script and arguments of the run being rerun, from the history (the caller's home decides where). */
export function rerunScript(directory: string, id: string): {script: string; args: string[]} {
	const run = findRun(directory, id);
	if (run.header.secretArgs) {
		throw new XiError('USAGE', `Run ${id} had secret arguments, which are kept only as hashes; run ${run.header.script} again with its arguments and --on.`);
	}

	return {script: run.header.script, args: run.header.args};
}
