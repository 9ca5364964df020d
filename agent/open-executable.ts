/**
 * Opens what an allowlist entry (or the auth hook) executes without ever looking a name up twice:
 * the script, then each `#!` interpreter in turn down to an ELF executable, every file reached by
 * a walk from `/` one component at a time (walk-path.ts), each component checked on the
 * descriptor it was opened as. The child is then handed descriptors and executes the ELF one as
 * `/proc/self/fd/3`, the interpreters reading the scripts as `/proc/self/fd/4`... (see
 * shebang.ts): what runs is what was checked, whatever happens to the names meanwhile.
 *
 * And whatever happens to the files' contents: a process that already holds a file open for
 * writing (opened before its mode was tightened, say) could change it after this check. So each
 * `#!` script is read whole here and its SHA-256 is part of its identity (compared with the one at
 * load); a shell reads a private copy of exactly those bytes (sealed-copy.ts), never the file;
 * any other reader (Node, Python, Perl, a wrapper script's own code) reads the file, and gets it
 * only when no process holds it open for writing (`writers`, writer-check.ts, asked just before the
 * start), so nobody the walk does not trust can change it after that; and `changed` reads the files
 * again, which the agent asks just before the start, after `writers` (the run is refused), and just
 * after it (the run is killed as it starts).
 * The ELF executable is protected by the kernel once it runs (no write while it executes; exec
 * fails with ETXTBSY while anyone holds it open for writing).
 *
 * Left to the kernel and the dynamic loader, by name: the ELF interpreter an executable names
 * (`/lib64/ld-linux-x86-64.so.2`) and the shared libraries it loads, from root-owned system
 * directories; and what an interpreter itself loads (a Node script's imports, Python's modules).
 */
import {closeSync, fstatSync, type BigIntStats} from 'node:fs';
import {basename} from 'node:path';
import {changedFile, type ExecIdentity, type FileIdentity, type Owners} from './allowlist.js';
import {readContent, type FileContent} from './file-content.js';
import {sealScripts} from './sealed-copy.js';
import {chooseInterpreter, execPlan, maxInterpreterDepth, readHeader, type ExecPlan, type ScriptLevel} from './shebang.js';
import {checkProc, closeAll, walk} from './walk-path.js';
import {firstWriterProblem, type WriterProbe} from './writer-check.js';

export type OpenedExecutable = {
	identity: ExecIdentity;
	/**
	 * Descriptors for the child, in order from its fd 3: the ELF executable, then the scripts,
	 * outermost first (their private copies when `copied`).
	 */
	descriptors: number[];
	/** Whether the script the executable reads runs from a private copy (a shell reads it; sealed-copy.ts scriptSources). */
	copied: boolean;
	/** How to start it, with the script's own arguments. */
	plan: (args: readonly string[]) => ExecPlan;
	/**
	 * The path of the first file of the chain that is not what this check found (stat and content
	 * read again), else undefined. `started`: only the files the running child still reads from
	 * (the ELF executable, and the scripts unless they were copied).
	 */
	changed: (started?: 'started') => string | undefined;
	/**
	 * Why a script the child reads from its file (not a copy) cannot run: a process holds it open
	 * for writing, or that cannot be asked (writer-check.ts); else undefined. Asked just before the
	 * start, then `changed()`: what `changed()` read is then what the interpreter will read.
	 */
	writers: (probe: WriterProbe) => Promise<string | undefined>;
	close: () => void;
};

export type ExecutableCheck = ({ok: true} & {identity: ExecIdentity; executable: OpenedExecutable}) | {ok: false; reason: string};

/** One file of the chain as the walk opened it: its O_PATH descriptor, what fstat said, what it holds. */
type ChainFile = {fd: number; stats: BigIntStats; content: FileContent; identity: FileIdentity};

type Chain = {ok: true; files: ChainFile[]; levels: ScriptLevel[]} | {ok: false; reason: string};

/**
 * Opens `path` and every interpreter it leads to, for a run: `interpreter` is the one its entry
 * names (for `#!/usr/bin/env NAME`). On success the caller owns the descriptors (`close()`).
 */
export function openExecutable(path: string, owners: Owners, interpreter?: string): ExecutableCheck {
	const chain = openChain(path, owners, interpreter);
	if (!chain.ok) {
		return chain;
	}

	const {files, levels} = chain;
	const elf = files.at(-1)!;
	const scripts = files.slice(0, -1);
	// A shell reads a private copy; any other reader the checked file, once no process holds it open for writing (`writers`).
	const sealed = sealScripts(scripts.map(file => ({fd: file.fd, bytes: file.content.bytes!, sha256: file.content.sha256!, owner: {uid: Number(file.stats.uid), gid: Number(file.stats.gid), mode: Number(file.stats.mode)}, path: file.identity.path})), basename(elf.identity.path));
	if (typeof sealed === 'string') {
		closeAll(files.map(file => file.fd));
		return {ok: false, reason: sealed};
	}

	const identity = files.map(file => file.identity);
	const opened = [...files.map(file => file.fd), ...sealed.copies];
	const fromFile = scripts.filter((_, index) => sealed.fromFile[index]);
	const readAfterStart = [elf, ...fromFile];
	let closed = false;
	const executable: OpenedExecutable = {
		identity,
		descriptors: [elf.fd, ...sealed.descriptors],
		copied: sealed.copies.length > 0,
		plan: args => execPlan(path, levels, args),
		changed: started => firstChanged(started ? readAfterStart : files),
		// Never after close(): a descriptor's number may name another file by then.
		writers: async probe => closed ? 'its files were closed before the start; nothing ran' : firstWriterProblem(probe, fromFile.map(file => ({fd: file.fd, path: file.identity.path}))),
		close() {
			if (!closed) {
				closed = true;
				closeAll(opened);
			}
		},
	};
	return {ok: true, identity, executable};
}

/** Each file read again through its own descriptor: the path of the first whose identity (a script's hash too) moved. */
function firstChanged(files: readonly ChainFile[]): string | undefined {
	for (const {fd, identity} of files) {
		let stats: BigIntStats;
		try {
			stats = fstatSync(fd, {bigint: true});
		} catch {
			return identity.path;
		}

		const content = identity.sha256 === undefined ? undefined : readContent(fd, stats, identity.path);
		if (typeof content === 'string' || changedFile([identityOf(identity.path, stats, content?.sha256)], [identity]) !== undefined) {
			return identity.path;
		}
	}

	return undefined;
}

/** Opens, checks and closes again, without copies: for `allow` and for loading the allowlist and the hook. */
export function inspectExecutable(path: string, owners: Owners, interpreter?: string): {ok: true; identity: ExecIdentity} | {ok: false; reason: string} {
	const chain = openChain(path, owners, interpreter);
	if (!chain.ok) {
		return chain;
	}

	closeAll(chain.files.map(file => file.fd));
	return {ok: true, identity: chain.files.map(file => file.identity)};
}

/** The walk to `path`, then to each `#!` interpreter down to an ELF executable: every file opened, read and checked. */
function openChain(path: string, owners: Owners, interpreter?: string): Chain {
	const files: ChainFile[] = [];
	const fail = (reason: string): Chain => {
		closeAll(files.map(file => file.fd));
		return {ok: false, reason};
	};

	const procProblem = checkProc();
	if (procProblem) {
		return fail(procProblem);
	}

	const levels: ScriptLevel[] = [];
	let current = path;
	for (let depth = 0; ; depth++) {
		const walked = walk(current, owners);
		if (!walked.ok) {
			return fail(walked.reason);
		}

		const content = readContent(walked.fd, walked.stats, current);
		if (typeof content === 'string') {
			closeSync(walked.fd);
			return fail(content);
		}

		files.push({fd: walked.fd, stats: walked.stats, content, identity: identityOf(current, walked.stats, content.sha256)});
		const parsed = readHeader(content.header);
		if (parsed.kind === 'elf') {
			return depth === 0 && interpreter !== undefined
				? fail(`${path} is not a #! script, but its entry names the interpreter ${interpreter}`)
				: {ok: true, files, levels};
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
}

/**
 * The file's identity from the one fstat(2) its checks used, exact (bigint, nanoseconds): the
 * ctime is what utimes(2) cannot set back, so a file rewritten in place with its mtime (and even
 * its size) restored still differs here, as does a chmod put back, a link added or removed. A
 * `#!` script's identity also holds the SHA-256 of its bytes as read for this check.
 */
function identityOf(path: string, stats: BigIntStats, sha256?: string): FileIdentity {
	return {
		path,
		dev: String(stats.dev),
		ino: String(stats.ino),
		size: String(stats.size),
		mtimeNs: String(stats.mtimeNs),
		ctimeNs: String(stats.ctimeNs),
		uid: Number(stats.uid),
		mode: Number(stats.mode),
		...(sha256 === undefined ? {} : {sha256}),
	};
}
