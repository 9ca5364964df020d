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
 */
import {closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statfsSync, type BigIntStats} from 'node:fs';
import {isAbsolute, normalize} from 'node:path';
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

	const root = openPath('/');
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
		const opened = openPath(`/proc/self/fd/${parent}/${name}`, shown);
		if (typeof opened === 'string') {
			return result({ok: false, reason: opened});
		}

		const {fd, stats} = opened;
		if (stats.isSymbolicLink()) {
			const problem = trustProblem(shown, facts(stats), owners, 'symbolic link');
			const target = problem ? undefined : readLink(parent, name, stats);
			closeSync(fd);
			if (problem || target === undefined) {
				return result({ok: false, reason: problem ?? `the symbolic link ${shown} changed while it was read`});
			}

			if (++links > maxSymbolicLinks) {
				return result({ok: false, reason: `${path} leads through more than ${maxSymbolicLinks} symbolic links`});
			}

			if (target.startsWith('/')) {
				closeAll(directories.splice(1));
				names.length = 0;
			}

			pending.unshift(...target.split('/').filter(part => part !== ''));
			continue;
		}

		const last = pending.length === 0;
		const kind = last ? 'file' : 'directory';
		const problem = (last ? !stats.isFile() && `${shown} is not a regular file` : !stats.isDirectory() && `${shown} is not a directory`)
			|| trustProblem(shown, facts(stats), owners, kind)
			|| (last && (stats.mode & 0o111n) === 0n && `${shown} is not executable`);
		if (problem) {
			closeSync(fd);
			return result({ok: false, reason: problem});
		}

		if (last) {
			return result({ok: true, fd, stats});
		}

		directories.push(fd);
		names.push(name);
	}

	return result({ok: false, reason: `${path} is a directory`});
}

function openPath(path: string, shown = path): {fd: number; stats: BigIntStats} | string {
	let fd: number;
	try {
		fd = openSync(path, oPath | constants.O_NOFOLLOW);
	} catch (error) {
		return `${shown} cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}

	try {
		return {fd, stats: fstatSync(fd, {bigint: true})};
	} catch (error) {
		closeSync(fd);
		return `${shown} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}
}

/** A link's target, read by name, and only if the name still holds the link we opened. */
function readLink(parent: number, name: string, opened: BigIntStats): string | undefined {
	const byName = `/proc/self/fd/${parent}/${name}`;
	try {
		const target = readlinkSync(byName);
		const again = lstatSync(byName, {bigint: true});
		return again.dev === opened.dev && again.ino === opened.ino ? target : undefined;
	} catch {
		return undefined;
	}
}

/** What path-trust.ts judges a component by. */
function facts(stats: BigIntStats): ComponentFacts {
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
