/**
 * What the kernel does with a `#!` line, done by the agent instead, so that every file that
 * executes is one the agent opened and checked: `readHeader` reads the start of a file the way
 * binfmt_script and binfmt_elf do, and `execPlan` builds the argument vector the kernel would
 * have built, with each file named by the descriptor the child inherits (`/proc/self/fd/N`)
 * rather than by its path. Pure.
 *
 * The kernel's rules (fs/binfmt_script.c, Linux 5.1 and later), followed here byte for byte: it
 * reads the first 256 bytes (BINPRM_BUF_SIZE), zero-padded past the end of a shorter file. The
 * line ends at the first newline among them; with none, at byte 255 (and the kernel refuses the
 * file if no blank or NUL follows the interpreter there: it will not run a cut-off interpreter
 * path, though it cuts the argument). Spaces and tabs, and only those, are dropped from the end
 * of the line: a carriage return is kept (a CRLF file names `/bin/sh\r`, which the kernel looks
 * for and does not find). After `#!` and optional blanks comes the interpreter, up to the first
 * blank or NUL, then at most one argument: the rest after the blanks, blanks inside kept, up to a
 * NUL. The interpreter gets `[interpreter, argument?, script, ...the script's own arguments]`,
 * and may itself be a script (the agent allows four levels; the kernel five: stricter).
 *
 * Where the agent would have to guess, it refuses instead: a line longer than 255 bytes (the
 * kernel runs some of these with the argument cut), a NUL in the line (the kernel stops there; a
 * reader of the file does not), a carriage return or other control character anywhere in it, and
 * trailing blanks in a file that ends without a newline (kernels differ: see kernelLine).
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

	const lineBytes = kernelLine(bytes);
	if (typeof lineBytes === 'string') {
		return {kind: 'unknown', reason: lineBytes};
	}

	const text = strictUtf8(lineBytes);
	if (text === undefined) {
		return {kind: 'unknown', reason: 'a script whose #! line is not UTF-8, so the interpreter the agent would check is not the one the kernel would run; write the line in UTF-8'};
	}

	const line = text.replace(/^[ \t]+/, '');
	const split = /[ \t]/.exec(line);
	const interpreter = split ? line.slice(0, split.index) : line;
	// Present whenever a blank follows the interpreter (never empty: trailing blanks are dropped, or refused in a file without a newline).
	const argument = split ? line.slice(split.index).replace(/^[ \t]+/, '') : undefined;
	if (line.endsWith('\r')) {
		const kept = argument === undefined ? `look for the interpreter ${JSON.stringify(interpreter)}` : `give ${interpreter} the argument ${JSON.stringify(argument)}`;
		return {kind: 'unknown', reason: `a script whose #! line ends in a carriage return (a CRLF line ending), which the kernel keeps: it would ${kept}; end the line with a newline alone (dos2unix)`};
	}

	const control = [...line].find(character => character !== '\t' && hasControl(character));
	if (control !== undefined) {
		return {kind: 'unknown', reason: `a script whose #! line holds a control character (U+${control.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}); write the line without one`};
	}

	if (interpreter === '') {
		return {kind: 'unknown', reason: 'its #! line names no interpreter'};
	}

	return {kind: 'script', interpreter, ...(argument === undefined ? {} : {argument})};
}

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09;

/**
 * The bytes after `#!` that binfmt_script takes as the line, or why the agent will not take them:
 * the first 256 bytes, zero-padded; up to the newline, or with none to byte 255; trailing spaces
 * and tabs dropped (nothing else); then up to the first NUL, which past a short file's end is the
 * padding (so a file that ends without a newline keeps its trailing blanks, unless it is 255 bytes
 * long; a kernel with Andrei Vagin's "Trim zero bytes from i_end" drops them: such a line is
 * refused).
 */
function kernelLine(bytes: Uint8Array): Uint8Array | string {
	const buffer = new Uint8Array(headerBytes);
	buffer.set(bytes.subarray(0, headerBytes));
	const newline = buffer.indexOf(0x0A);
	if (newline === -1 && bytes.length >= headerBytes) {
		return `its #! line is longer than ${headerBytes - 1} bytes`;
	}

	if (bytes.subarray(2, newline === -1 ? undefined : newline).includes(0)) {
		return 'a script whose #! line holds a NUL byte, where the kernel stops reading the interpreter or its argument; write the line without one';
	}

	if (newline === -1 && isBlank(bytes.at(-1))) {
		return 'a script whose #! line ends in spaces or tabs with no newline after them, which kernels read differently (Linux 6.18 passes them as an argument, a kernel with "Trim zero bytes from i_end" drops them); end the line with a newline';
	}

	let end = newline === -1 ? headerBytes - 1 : newline;
	while (end > 2 && isBlank(buffer[end - 1])) {
		end--;
	}

	const line = buffer.subarray(2, end);
	const nul = line.indexOf(0);
	return nul === -1 ? line : line.subarray(0, nul);
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
