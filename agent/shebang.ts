/**
 * What the kernel does with a `#!` line, done by the agent instead, so that every file that
 * executes is one the agent opened and checked: `readHeader` reads the start of a file the way
 * binfmt_script and binfmt_elf do, and `execPlan` builds the argument vector the kernel would
 * have built, with each file named by the descriptor the child inherits (`/proc/self/fd/N`)
 * rather than by its path. Pure.
 *
 * The kernel's rules (fs/binfmt_script.c): the first line, at most 256 bytes, after `#!` and
 * optional blanks, is the interpreter up to the first blank, then at most one argument (the rest
 * of the line, trimmed, blanks inside kept); the interpreter gets `[interpreter, argument?,
 * script, ...the script's own arguments]`, and may itself be a script (we allow four levels, as
 * the kernel does).
 *
 * The kernel takes the line as bytes; the agent walks to the interpreter by a string that node
 * writes out as UTF-8 again. So the line must be strict UTF-8 (read as latin1, `#!/opt/café/sh`
 * became `/opt/cafÃ©/sh`: another file), and hold no control character but a tab (one in the
 * interpreter's path would make every message that shows it lie; one in the argument goes to the
 * interpreter unseen).
 */
import {basename, isAbsolute, normalize} from 'node:path';
import {TextDecoder} from 'node:util';
import {hasControl} from '../source/protocol/text-checks.js';

export const headerBytes = 256;
export const maxInterpreterDepth = 4;

export type Header =
	| {kind: 'elf'}
	| {kind: 'script'; interpreter: string; argument?: string}
	| {kind: 'unknown'; reason: string};

export function readHeader(bytes: Uint8Array): Header {
	if (bytes.length >= 4 && bytes[0] === 0x7F && bytes[1] === 0x45 && bytes[2] === 0x4C && bytes[3] === 0x46) {
		return {kind: 'elf'};
	}

	if (bytes.length < 2 || bytes[0] !== 0x23 || bytes[1] !== 0x21) {
		return {kind: 'unknown', reason: 'neither an ELF executable nor a #! script'};
	}

	const head = bytes.subarray(0, headerBytes);
	const end = head.indexOf(0x0A);
	if (end === -1 && bytes.length >= headerBytes) {
		return {kind: 'unknown', reason: `its #! line is longer than ${headerBytes - 1} bytes`};
	}

	const text = strictUtf8(head.subarray(2, end === -1 ? undefined : end));
	if (text === undefined) {
		return {kind: 'unknown', reason: 'a script whose #! line is not UTF-8, so the interpreter the agent would check is not the one the kernel would run; write the line in UTF-8'};
	}

	const line = text.replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
	const control = [...line].find(character => character !== '\t' && hasControl(character));
	if (control !== undefined) {
		return {kind: 'unknown', reason: `a script whose #! line holds a control character (U+${control.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}); write the line without one`};
	}

	const split = /[ \t]/.exec(line);
	const interpreter = split ? line.slice(0, split.index) : line;
	const argument = split ? line.slice(split.index).replace(/^[ \t]+/, '') : '';
	if (interpreter === '') {
		return {kind: 'unknown', reason: 'its #! line names no interpreter'};
	}

	return {kind: 'script', interpreter, ...(argument === '' ? {} : {argument})};
}

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});

function strictUtf8(bytes: Uint8Array): string | undefined {
	try {
		return utf8.decode(bytes);
	} catch {
		return undefined;
	}
}

/** `#!/usr/bin/env NAME`, `#!/bin/env NAME`: the program is found on PATH, by name, at each run. */
export function isEnvLookup(interpreter: string): boolean {
	return basename(interpreter) === 'env';
}

/** What to do about a `#!/usr/bin/env` script: for a hook, auth-hook.ts says where its interpreter is named instead. */
export const nameTheInterpreter = 'name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)';

export type InterpreterChoice = {ok: true; path: string; argument?: string} | {ok: false; reason: string};

/**
 * Which interpreter a script's `#!` line leads to. Only an absolute, normalised path is followed;
 * an `env` lookup only at the top (the allowlisted script itself), only as `env NAME` with NAME
 * the base name of the interpreter the entry names, which is then what runs (PATH is never read).
 */
export function chooseInterpreter(scriptPath: string, header: {interpreter: string; argument?: string}, named: string | undefined): InterpreterChoice {
	const {interpreter, argument} = header;
	if (isEnvLookup(interpreter)) {
		if (named === undefined) {
			return {ok: false, reason: `${scriptPath} starts with #!${interpreter}${argument ? ` ${argument}` : ''}, which finds its interpreter on PATH; ${nameTheInterpreter}`};
		}

		if (argument !== basename(named)) {
			return {ok: false, reason: `${scriptPath} starts with #!${interpreter}${argument ? ` ${argument}` : ''}, which is not \`env ${basename(named)}\` for the interpreter ${named} its entry names`};
		}

		return {ok: true, path: named};
	}

	if (!isAbsolute(interpreter) || normalize(interpreter) !== interpreter) {
		return {ok: false, reason: `${scriptPath} names the interpreter ${JSON.stringify(interpreter)}, which is not a normalised absolute path`};
	}

	if (named !== undefined && named !== interpreter) {
		return {ok: false, reason: `${scriptPath} names the interpreter ${interpreter}, but its entry names ${named}`};
	}

	return {ok: true, path: interpreter, ...(argument === undefined ? {} : {argument})};
}

/** One script in the chain: how its `#!` line named the next file, and the argument it gave. */
export type ScriptLevel = {written: string; argument?: string};

export type ExecPlan = {
	/** The file to execute in the child: the descriptor of the ELF executable at the end of the chain. */
	file: string;
	argv0: string;
	args: string[];
};

/**
 * The child inherits the ELF executable as descriptor `firstDescriptor` and the scripts, outermost
 * (the allowlisted one) first, as the descriptors after it. `levels[i]` is script i's `#!` line.
 */
export function execPlan(scriptPath: string, levels: readonly ScriptLevel[], args: readonly string[], firstDescriptor = 3): ExecPlan {
	const fd = (index: number) => `/proc/self/fd/${firstDescriptor + index}`;
	let argv = [scriptPath, ...args];
	for (const [index, level] of levels.entries()) {
		argv = [level.written, ...(level.argument === undefined ? [] : [level.argument]), fd(index + 1), ...argv.slice(1)];
	}

	return {file: fd(0), argv0: argv[0]!, args: argv.slice(1)};
}
