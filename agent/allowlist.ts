/**
 * The allowlist: script name → absolute path, with a description, an optional JSON Schema
 * (2020-12) for the argument array, a timeout, the user to run as, and the interpreter a
 * `#!/usr/bin/env NAME` script means. `parseAllowlist` is pure; the filesystem check
 * (open-executable.ts) runs when the allowlist is loaded and again before every run: a file that
 * changed since load (device, inode, size, mtime, ctime, owner, mode, and a script's SHA-256), the
 * script's or an interpreter's, is refused until reload.
 */
import {isAbsolute, normalize} from 'node:path';
import {hasControl, hasLoneSurrogate, isScriptName} from '../source/protocol/text-checks.js';

export type AllowlistEntry = {
	path: string;
	description: string;
	args?: unknown;
	timeoutSeconds: number;
	runAs?: string;
	/** The interpreter a `#!/usr/bin/env NAME` script runs with (absolute; its base name is NAME). */
	interpreter?: string;
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

/**
 * Why a path an entry names (its script's or its interpreter's) cannot be used as written, or
 * undefined: a control character (a NUL cannot reach open(2) at all; a newline or an escape
 * would make every message and listing that shows the path lie about it) or a lone surrogate
 * (written out as UTF-8 it becomes U+FFFD: another file). Checked when the allowlist is loaded and
 * by `allow`; the walk (walk-path.ts) refuses a path that is not normalised. Pure.
 */
export function pathTextProblem(path: string): string | undefined {
	if (hasControl(path)) {
		const code = [...path].find(character => hasControl(character))!.codePointAt(0)!;
		return `the path ${JSON.stringify(path)} holds a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}); allowlist a path without one`;
	}

	if (hasLoneSurrogate(path)) {
		return `the path ${JSON.stringify(path)} is not well-formed Unicode (a lone surrogate), so it would name another file; allowlist the file's real name`;
	}

	return undefined;
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

		if (entry.interpreter !== undefined && (typeof entry.interpreter !== 'string' || !isAbsolute(entry.interpreter) || normalize(entry.interpreter) !== entry.interpreter)) {
			problems.push(`${name}: "interpreter" must be a normalised absolute path, such as "/usr/bin/python3"`);
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
			...(typeof entry.interpreter === 'string' ? {interpreter: entry.interpreter} : {}),
			...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}),
			...(entry.confirm === true ? {confirm: true} : {}),
			...(entry.readOnly === true ? {readOnly: true} : {}),
		};
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, allowlist: {scripts}};
}

/**
 * What identifies one file we checked; any change means it must be checked (reloaded) again. The
 * numbers stat(2) gives as 64-bit integers are kept exact, as decimal strings (bigint stat):
 * nanosecond times, 64-bit inodes. ctime is the one no utimes(2) can set back: writing the file,
 * truncating it, chmod, chown or a link count change all move it, so restoring the mtime (touch -d)
 * after rewriting a file in place does not make it look unchanged. A legitimate edit is refused
 * the same way until the allowlist is reloaded (SIGHUP or `xi-exec-agent allow`). A `#!` script's
 * identity also holds the SHA-256 of its bytes (not an ELF executable's: the kernel keeps those
 * from changing while they run), and what its interpreter reads is a copy of those very bytes.
 */
export type FileIdentity = {path: string; dev: string; ino: string; size: string; mtimeNs: string; ctimeNs: string; uid: number; mode: number; sha256?: string};

/** Every field of a FileIdentity, each compared by changedFile (the Record makes a new field a type error until listed). */
const identityFields = Object.keys({path: true, dev: true, ino: true, size: true, mtimeNs: true, ctimeNs: true, uid: true, mode: true, sha256: true} satisfies Record<keyof FileIdentity, true>) as Array<keyof FileIdentity>;

/** Every file that executes for an entry: the script, then each `#!` interpreter in turn (open-executable.ts). */
export type ExecIdentity = readonly FileIdentity[];

export type FileCheck = {ok: true; identity: ExecIdentity} | {ok: false; reason: string};

export type Owners = {
	/** The agent's own uid: files it owns are trusted, as are root's. */
	agentUid: number;
	/** The uid scripts run as, when it differs from the agent's: it must not own the script. */
	runAsUid?: number;
};

/** The first file (by path) that is not what was checked at load, or undefined when all are. */
export function changedFile(now: ExecIdentity, loaded: ExecIdentity): string | undefined {
	for (const [index, before] of loaded.entries()) {
		const after = now[index];
		if (!after || identityFields.some(field => after[field] !== before[field])) {
			return before.path;
		}
	}

	return now.length > loaded.length ? now[loaded.length]!.path : undefined;
}
