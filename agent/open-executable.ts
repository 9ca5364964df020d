/**
 * Opens what an allowlist entry (or the auth hook) executes without ever looking a name up twice:
 * the script, then each `#!` interpreter in turn down to an ELF executable, every file reached by
 * a walk from `/` one component at a time, each component checked (path-trust.ts) on the
 * descriptor it was opened as. The child is then handed those descriptors and executes the ELF
 * one as `/proc/self/fd/3`, the interpreters reading the scripts as `/proc/self/fd/4`... (see
 * shebang.ts): what runs is what was checked, whatever happens to the names meanwhile.
 *
 * Node has no openat(2), O_PATH or execveat(2) of its own. The walk opens
 * `/proc/self/fd/DIR/NAME` with `O_PATH | O_NOFOLLOW`: the kernel follows the magic link
 * `/proc/self/fd/DIR` to the directory DIR is open on (no name is resolved on the way) and looks
 * NAME up in it, not following NAME if it is a symbolic link — openat(DIR, NAME, O_PATH |
 * O_NOFOLLOW). `/proc/self/fd` must be procfs (checked, statfs magic 0x9fa0): otherwise nothing
 * is opened. O_PATH needs no read or execute permission, and never blocks on a FIFO; reading the
 * header reopens the same inode through its own descriptor (checked: same device and inode).
 *
 * A symbolic link is followed when its owner passes (root or the agent's user; `/bin` → `usr/bin`
 * on a merged-/usr system): its target is read by name (Node cannot readlinkat an O_PATH
 * descriptor) from a directory already checked to be writable only by trusted users, and the
 * link read is confirmed to be the one opened (same inode). At most 40 links per walk, like the
 * kernel. `..` in a link's target goes back to the directory the walk came from.
 *
 * Left to the kernel and the dynamic loader, by name: the ELF interpreter an executable names
 * (`/lib64/ld-linux-x86-64.so.2`) and the shared libraries it loads, from root-owned system
 * directories; and what an interpreter itself loads (a Node script's imports, Python's modules).
 */
import {closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, statfsSync, type BigIntStats} from 'node:fs';
import {isAbsolute, normalize} from 'node:path';
import type {ExecIdentity, FileIdentity, Owners} from './allowlist.js';
import {trustProblem, type ComponentFacts} from './path-trust.js';
import {chooseInterpreter, execPlan, headerBytes, maxInterpreterDepth, readHeader, type ExecPlan, type ScriptLevel} from './shebang.js';

/** Linux's O_PATH (the same on x86-64 and arm64); node:fs does not export it. */
const oPath = 0o10000000;
const procSuperMagic = 0x9F_A0;
const maxSymbolicLinks = 40;

export type OpenedExecutable = {
	identity: ExecIdentity;
	/** Descriptors for the child, in order from its fd 3: the ELF executable, then the scripts, outermost first. */
	descriptors: number[];
	/** How to start it, with the script's own arguments. */
	plan: (args: readonly string[]) => ExecPlan;
	close: () => void;
};

export type ExecutableCheck = ({ok: true} & {identity: ExecIdentity; executable: OpenedExecutable}) | {ok: false; reason: string};

/**
 * Opens `path` and every interpreter it leads to; `interpreter` is the one its entry names (for
 * `#!/usr/bin/env NAME`). On success the caller owns the descriptors (`close()`).
 */
export function openExecutable(path: string, owners: Owners, interpreter?: string): ExecutableCheck {
	const opened: number[] = [];
	const fail = (reason: string): ExecutableCheck => {
		closeAll(opened);
		return {ok: false, reason};
	};

	const procProblem = checkProc();
	if (procProblem) {
		return fail(procProblem);
	}

	const identity: FileIdentity[] = [];
	const levels: ScriptLevel[] = [];
	let current = path;
	for (let depth = 0; ; depth++) {
		const walked = walk(current, owners);
		if (!walked.ok) {
			return fail(walked.reason);
		}

		opened.push(walked.fd);
		identity.push(identityOf(current, walked.stats));
		const header = readStart(walked.fd, walked.stats, current);
		if (typeof header === 'string') {
			return fail(header);
		}

		const parsed = readHeader(header);
		if (parsed.kind === 'elf') {
			if (depth === 0 && interpreter !== undefined) {
				return fail(`${path} is not a #! script, but its entry names the interpreter ${interpreter}`);
			}

			break;
		}

		if (parsed.kind === 'unknown') {
			return fail(`${current} is ${parsed.reason}`);
		}

		if (depth >= maxInterpreterDepth) {
			return fail(`${path} leads through more than ${maxInterpreterDepth} #! interpreters`);
		}

		const chosen = chooseInterpreter(current, parsed, depth === 0 ? interpreter : undefined);
		if (!chosen.ok) {
			return fail(chosen.reason);
		}

		levels.push({written: chosen.path, ...(chosen.argument === undefined ? {} : {argument: chosen.argument})});
		current = chosen.path;
	}

	// The ELF executable is the child's fd 3, the scripts follow outermost first.
	const descriptors = [opened.at(-1)!, ...opened.slice(0, -1)];
	let closed = false;
	const executable: OpenedExecutable = {
		identity,
		descriptors,
		plan: args => execPlan(path, levels, args),
		close() {
			if (!closed) {
				closed = true;
				closeAll(opened);
			}
		},
	};
	return {ok: true, identity, executable};
}

/** Opens, checks and closes again: for `allow` and for loading the allowlist. */
export function inspectExecutable(path: string, owners: Owners, interpreter?: string): {ok: true; identity: ExecIdentity} | {ok: false; reason: string} {
	const check = openExecutable(path, owners, interpreter);
	if (!check.ok) {
		return check;
	}

	check.executable.close();
	return {ok: true, identity: check.identity};
}

function checkProc(): string | undefined {
	try {
		if (statfsSync('/proc/self/fd').type !== procSuperMagic) {
			return '/proc/self/fd is not procfs, so no file can be opened safely; mount proc on /proc';
		}
	} catch (error) {
		return `/proc/self/fd cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); mount proc on /proc`;
	}

	return undefined;
}

type Walked = {ok: true; fd: number; stats: BigIntStats} | {ok: false; reason: string};

/** The walk from `/`: returns a descriptor (O_PATH) on the regular file `path` leads to, every step checked. */
function walk(path: string, owners: Owners): Walked {
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

/** The first bytes of the file, read through its own descriptor (reopened for reading, same inode). */
function readStart(fd: number, stats: BigIntStats, shown: string): Uint8Array | string {
	let reader: number;
	try {
		reader = openSync(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch (error) {
		return `${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	}

	try {
		const again = fstatSync(reader, {bigint: true});
		if (again.dev !== stats.dev || again.ino !== stats.ino) {
			return `${shown} changed while it was read`;
		}

		const buffer = Buffer.alloc(headerBytes);
		const length = readSync(reader, buffer, 0, headerBytes, 0);
		return buffer.subarray(0, length);
	} catch (error) {
		return `${shown} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
	} finally {
		closeSync(reader);
	}
}

/** What path-trust.ts judges a component by. */
function facts(stats: BigIntStats): ComponentFacts {
	return {uid: Number(stats.uid), gid: Number(stats.gid), mode: Number(stats.mode)};
}

/**
 * The file's identity from the one fstat(2) its checks used, exact (bigint, nanoseconds): the
 * ctime is what utimes(2) cannot set back, so a file rewritten in place with its mtime (and even
 * its size) restored still differs here, as does a chmod put back, a link added or removed.
 */
function identityOf(path: string, stats: BigIntStats): FileIdentity {
	return {
		path,
		dev: String(stats.dev),
		ino: String(stats.ino),
		size: String(stats.size),
		mtimeNs: String(stats.mtimeNs),
		ctimeNs: String(stats.ctimeNs),
		uid: Number(stats.uid),
		mode: Number(stats.mode),
	};
}

function closeAll(descriptors: number[]): void {
	for (const fd of descriptors.splice(0)) {
		try {
			closeSync(fd);
		} catch {
			// Already closed.
		}
	}
}
