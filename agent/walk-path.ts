/**
 * The walk from `/` to an executable without ever looking a name up twice (open-executable.ts
 * uses it for the script and each `#!` interpreter): one component at a time, each opened
 * `O_PATH | O_NOFOLLOW` in the directory descriptor before it and checked (path-trust.ts) on the
 * descriptor it was opened as.
 *
 * Node has no openat(2), O_PATH or execveat(2) of its own. The walk opens
 * `/proc/self/fd/DIR/NAME` with `O_PATH | O_NOFOLLOW`: the kernel follows the magic link
 * `/proc/self/fd/DIR` to the directory DIR is open on (no name is resolved on the way) and looks
 * NAME up in it, not following NAME if it is a symbolic link — openat(DIR, NAME, O_PATH |
 * O_NOFOLLOW). `/proc/self/fd` must be procfs (checked, statfs magic 0x9fa0): otherwise nothing
 * is opened. O_PATH needs no read or execute permission, and never blocks on a FIFO.
 *
 * A symbolic link is followed when its owner passes (root or the agent's user; `/bin` → `usr/bin`
 * on a merged-/usr system): its target is read by name (Node cannot readlinkat an O_PATH
 * descriptor) from a directory already checked to be writable only by trusted users, and the
 * link read is confirmed to be the one opened (same inode). At most 40 links per walk, like the
 * kernel. `..` in a link's target goes back to the directory the walk came from.
 *
 * A name is what the allowlist's paths may be (allowlist.ts pathTextProblem): no control
 * character, whether in the path walked (a `#!` line's interpreter too) or in a link's target; and
 * a target is read as bytes and must be UTF-8, since node would read other bytes as U+FFFD and
 * the walk would then look up another name than the kernel does.
 */
import {closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statfsSync, type BigIntStats, type Stats} from 'node:fs';
import {isAbsolute, normalize} from 'node:path';
import {hasControl} from '../source/protocol/text-checks.js';
import type {Owners} from './allowlist.js';
import {trustProblem, type ComponentFacts} from './path-trust.js';

/** Linux's O_PATH (the same on x86-64 and arm64); node:fs does not export it. */
export const oPath = 0o10000000;
const procSuperMagic = 0x9F_A0;
const maxSymbolicLinks = 40;

/** Why nothing can be opened safely (no procfs on /proc/self/fd), or undefined. */
export function checkProc(): string | undefined {
	try {
		if (statfsSync('/proc/self/fd').type !== procSuperMagic) {
			return '/proc/self/fd is not procfs, so no file can be opened safely; mount proc on /proc';
		}
	} catch (error) {
		return `/proc/self/fd cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); mount proc on /proc`;
	}

	return undefined;
}

export type Walked = {ok: true; fd: number; stats: BigIntStats} | {ok: false; reason: string};

/** The walk from `/`: returns a descriptor (O_PATH) on the regular file `path` leads to, every step checked. */
export function walk(path: string, owners: Owners): Walked {
	if (hasControl(path)) {
		return {ok: false, reason: `the path ${JSON.stringify(path)} holds ${controlNamed(path)}; name a path without one`};
	}

	if (!isAbsolute(path) || normalize(path) !== path || (path.endsWith('/') && path !== '/')) {
		return {ok: false, reason: `${path} is not a normalised absolute path`};
	}

	// Directories walked so far (descriptors) and their names, for `..` and for messages.
	const directories: number[] = [];
	const names: string[] = [];
	const here = () => `/${names.join('/')}`;
	const result = (walked: Walked): Walked => {
		closeAll(directories);
		return walked;
	};

	const root = openPath('/', '/', false);
	if (typeof root === 'string') {
		return result({ok: false, reason: root});
	}

	directories.push(root.fd);
	const rootProblem = trustProblem('/', facts(root.stats), owners, 'directory');
	if (rootProblem) {
		return result({ok: false, reason: rootProblem});
	}

	const pending = path.split('/').filter(part => part !== '');
	let links = 0;
	while (pending.length > 0) {
		const name = pending.shift()!;
		if (name === '.') {
			continue;
		}

		if (name === '..') {
			if (directories.length > 1) {
				closeSync(directories.pop()!);
				names.pop();
			}

			continue;
		}

		const parent = directories.at(-1)!;
		const shown = `${here() === '/' ? '' : here()}/${name}`;
		const last = pending.length === 0;
		// The last name exactly (bigint: its identity is compared to the nanosecond); a directory on the way by owner, mode and kind only.
		const opened = openPath(`/proc/self/fd/${parent}/${name}`, shown, last);
		if (typeof opened === 'string') {
			return result({ok: false, reason: opened});
		}

		const {fd, stats} = opened;
		if (stats.isSymbolicLink()) {
			const link = exactly(opened, shown);
			if (typeof link === 'string') {
				return result({ok: false, reason: link});
			}

			const target = followed(parent, name, shown, link, owners);
			if (target.reason !== undefined) {
				return result({ok: false, reason: target.reason});
			}

			if (++links > maxSymbolicLinks) {
				return result({ok: false, reason: `${path} leads through more than ${maxSymbolicLinks} symbolic links`});
			}

			if (target.text.startsWith('/')) {
				closeAll(directories.splice(1));
				names.length = 0;
			}

			pending.unshift(...target.text.split('/').filter(part => part !== ''));
			continue;
		}

		const kind = last ? 'file' : 'directory';
		const problem = (last ? !stats.isFile() && `${shown} is not a regular file` : !stats.isDirectory() && `${shown} is not a directory`)
			|| trustProblem(shown, facts(stats), owners, kind)
			|| (last && (Number(stats.mode) & 0o111) === 0 && `${shown} is not executable`);
		if (problem) {
			closeSync(fd);
			return result({ok: false, reason: problem});
		}

		if (last) {
			// Opened exactly (last).
			return result({ok: true, fd, stats: stats as BigIntStats});
		}

		directories.push(fd);
		names.push(name);
	}

	return result({ok: false, reason: `${path} is a directory`});
}

/**
 * `path` opened O_PATH, with its fstat: `exact` as bigint (device, inode, size and times exact: a
 * file's identity, a link's), else as numbers (uid, gid, mode and kind are exact in a number too;
 * ~860 against ~1,570 bytes allocated and 4.5 against 9 µs per fstat on node 20).
 */
function openPath(path: string, shown: string, exact: boolean): {fd: number; stats: BigIntStats | Stats} | string {
	let fd: number;
	try {
		fd = openSync(path, oPath | constants.O_NOFOLLOW);
	} catch (error) {
		return `${shown} cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}

	try {
		return {fd, stats: exact ? fstatSync(fd, {bigint: true}) : fstatSync(fd)};
	} catch (error) {
		closeSync(fd);
		return `${shown} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}
}

/** A component opened by number stats, examined again exactly (a symbolic link on the way: its inode is compared with the one read by name); closed on failure. */
function exactly(opened: {fd: number; stats: BigIntStats | Stats}, shown: string): {fd: number; stats: BigIntStats} | string {
	if (typeof opened.stats.ino === 'bigint') {
		return opened as {fd: number; stats: BigIntStats};
	}

	try {
		return {fd: opened.fd, stats: fstatSync(opened.fd, {bigint: true})};
	} catch (error) {
		closeSync(opened.fd);
		return `${shown} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}
}

/** The target of the link `shown` (opened as `link`, closed here) to walk next, or why it is not followed. */
function followed(parent: number, name: string, shown: string, link: {fd: number; stats: BigIntStats}, owners: Owners): {text: string; reason?: undefined} | {reason: string} {
	const problem = trustProblem(shown, facts(link.stats), owners, 'symbolic link');
	const target = problem ? undefined : readLink(parent, name, link.stats);
	closeSync(link.fd);
	if (problem || target === undefined) {
		return {reason: problem || `the symbolic link ${shown} changed while it was read`};
	}

	const targetProblem = linkTargetProblem(shown, target);
	return targetProblem ? {reason: targetProblem} : {text: utf8.decode(target)};
}

/** The control character `text` holds first, named (U+000A). */
function controlNamed(text: string): string {
	const code = [...text].find(character => hasControl(character))!.codePointAt(0)!;
	return `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** Why the walk will not follow a link to `target` (its bytes), or undefined. Pure. */
export function linkTargetProblem(shown: string, target: Buffer): string | undefined {
	let text: string;
	try {
		text = utf8.decode(target);
	} catch {
		return `the symbolic link ${shown} points to ${JSON.stringify(target.toString('utf8'))}, which is not UTF-8 (each U+FFFD there is a byte that is not), so it would name another file; link to a UTF-8 name`;
	}

	return hasControl(text) ? `the symbolic link ${shown} points to ${JSON.stringify(text)}, which holds ${controlNamed(text)}; link to a path without one` : undefined;
}

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});

/** A link's target (its bytes), read by name, and only if the name still holds the link we opened. */
function readLink(parent: number, name: string, opened: BigIntStats): Buffer | undefined {
	const byName = `/proc/self/fd/${parent}/${name}`;
	try {
		const target = readlinkSync(byName, {encoding: 'buffer'});
		const again = lstatSync(byName, {bigint: true});
		return again.dev === opened.dev && again.ino === opened.ino ? target : undefined;
	} catch {
		return undefined;
	}
}

/** What path-trust.ts judges a component by. */
function facts(stats: BigIntStats | Stats): ComponentFacts {
	return {uid: Number(stats.uid), gid: Number(stats.gid), mode: Number(stats.mode)};
}

/** Closes each descriptor (and empties the list), ignoring those already closed. */
export function closeAll(descriptors: number[]): void {
	for (const fd of descriptors.splice(0)) {
		try {
			closeSync(fd);
		} catch {
			// Already closed.
		}
	}
}
