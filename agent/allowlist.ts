/**
 * The allowlist: script name → absolute path, with a description, an optional JSON Schema
 * (2020-12) for the argument array, a timeout, and the user to run as. `parseAllowlist` is pure;
 * `inspectScriptFile` is the filesystem check, run when the allowlist is loaded and again before
 * every run: a file that changed since load (inode, mtime, owner, mode) is refused until reload.
 */
import {lstatSync, statSync, type Stats} from 'node:fs';
import {dirname, isAbsolute} from 'node:path';
import {isScriptName} from '../source/protocol/text-checks.js';

export type AllowlistEntry = {
	path: string;
	description: string;
	args?: unknown;
	timeoutSeconds: number;
	runAs?: string;
	maxTargets?: number;
	confirm?: boolean;
	/** The entry's own declaration that the script changes nothing (shown to AI callers as readOnlyHint). */
	readOnly?: boolean;
};

export type AllowlistFile = {scripts: Record<string, AllowlistEntry>};

export const defaultTimeoutSeconds = 30;
export const maxTimeoutSeconds = 24 * 60 * 60;

export function emptyAllowlist(): AllowlistFile {
	return {scripts: {}};
}

/** Validates the shape of allowlist.json; returns the problems found, all at once. */
export function parseAllowlist(value: unknown): {ok: true; allowlist: AllowlistFile} | {ok: false; problems: string[]} {
	if (typeof value !== 'object' || value === null || typeof (value as AllowlistFile).scripts !== 'object' || (value as AllowlistFile).scripts === null || Array.isArray((value as AllowlistFile).scripts)) {
		return {ok: false, problems: ['expected {"scripts": {NAME: {path, description, ...}}}']};
	}

	const problems: string[] = [];
	const scripts: Record<string, AllowlistEntry> = Object.create(null) as Record<string, AllowlistEntry>;
	for (const [name, raw] of Object.entries((value as AllowlistFile).scripts)) {
		const entry = raw as Partial<AllowlistEntry> | null;
		if (!isScriptName(name)) {
			problems.push(`script name ${JSON.stringify(name)} must match [a-z0-9][a-z0-9._-]*`);
			continue;
		}

		if (typeof entry !== 'object' || entry === null || typeof entry.path !== 'string' || !isAbsolute(entry.path)) {
			problems.push(`${name}: "path" must be an absolute path`);
			continue;
		}

		const timeoutSeconds = entry.timeoutSeconds ?? defaultTimeoutSeconds;
		if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > maxTimeoutSeconds) {
			problems.push(`${name}: "timeoutSeconds" must be an integer from 1 to ${maxTimeoutSeconds}`);
			continue;
		}

		if (entry.maxTargets !== undefined && (!Number.isInteger(entry.maxTargets) || entry.maxTargets < 1)) {
			problems.push(`${name}: "maxTargets" must be a positive integer`);
			continue;
		}

		// A runAs that is not a name must not quietly mean "run as the agent" (root, in production).
		if (entry.runAs !== undefined && (typeof entry.runAs !== 'string' || entry.runAs === '')) {
			problems.push(`${name}: "runAs" must be a user name`);
			continue;
		}

		scripts[name] = {
			path: entry.path,
			description: typeof entry.description === 'string' ? entry.description : '',
			timeoutSeconds,
			...(entry.args === undefined ? {} : {args: entry.args}),
			...(typeof entry.runAs === 'string' ? {runAs: entry.runAs} : {}),
			...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}),
			...(entry.confirm === true ? {confirm: true} : {}),
			...(entry.readOnly === true ? {readOnly: true} : {}),
		};
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, allowlist: {scripts}};
}

/** What identifies the file we checked; any change means it must be checked (reloaded) again. */
export type FileIdentity = {dev: number; ino: number; mtimeMs: number; uid: number; mode: number};

export type FileCheck = {ok: true; identity: FileIdentity} | {ok: false; reason: string};

export type Owners = {
	/** The agent's own uid: files it owns are trusted, as are root's. */
	agentUid: number;
	/** The uid scripts run as, when it differs from the agent's: it must not own the script. */
	runAsUid?: number;
};

/**
 * The safety checks on a script: absolute, a regular file (not a symlink), executable, owned by
 * root or the agent's user, not writable by group or others, and the same for every directory
 * above it (sticky root-owned directories such as /tmp aside); never owned by the run-as user.
 */
export function inspectScriptFile(path: string, owners: Owners): FileCheck {
	if (!isAbsolute(path)) {
		return {ok: false, reason: `${path} is not an absolute path`};
	}

	let stats: Stats;
	try {
		stats = lstatSync(path);
	} catch (error) {
		return {ok: false, reason: `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`};
	}

	if (stats.isSymbolicLink()) {
		return {ok: false, reason: `${path} is a symbolic link; allowlist the file it points to`};
	}

	if (!stats.isFile()) {
		return {ok: false, reason: `${path} is not a regular file`};
	}

	if ((stats.mode & 0o111) === 0) {
		return {ok: false, reason: `${path} is not executable`};
	}

	const ownership = checkOwnerAndMode(path, stats, owners, 'file');
	if (ownership) {
		return {ok: false, reason: ownership};
	}

	for (let directory = dirname(path); ; directory = dirname(directory)) {
		let directoryStats: Stats;
		try {
			directoryStats = statSync(directory);
		} catch (error) {
			return {ok: false, reason: `${directory} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`};
		}

		const problem = checkOwnerAndMode(directory, directoryStats, owners, 'directory');
		if (problem) {
			return {ok: false, reason: problem};
		}

		if (directory === dirname(directory)) {
			break;
		}
	}

	return {ok: true, identity: {dev: stats.dev, ino: stats.ino, mtimeMs: stats.mtimeMs, uid: stats.uid, mode: stats.mode}};
}

function checkOwnerAndMode(path: string, stats: Stats, owners: Owners, kind: 'file' | 'directory'): string | undefined {
	const stickyRootDirectory = kind === 'directory' && stats.uid === 0 && (stats.mode & 0o1000) !== 0;
	if (stats.uid !== 0 && stats.uid !== owners.agentUid) {
		return `${path} is owned by uid ${stats.uid}, neither root nor the agent's user (uid ${owners.agentUid})`;
	}

	if (owners.runAsUid !== undefined && owners.runAsUid !== owners.agentUid && stats.uid === owners.runAsUid) {
		return `${path} is owned by the user scripts run as (uid ${owners.runAsUid}), who could change it`;
	}

	if ((stats.mode & 0o022) !== 0 && !stickyRootDirectory) {
		return `${path} is writable by ${(stats.mode & 0o020) === 0 ? 'others' : 'its group'} (mode ${(stats.mode & 0o7777).toString(8)})`;
	}

	return undefined;
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
	return a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.uid === b.uid && a.mode === b.mode;
}
