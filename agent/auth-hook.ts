/**
 * The auth hook: asked before every run, after the allowlist and the argument schema. Either an
 * executable (the context as JSON on stdin; allow only on exit 0 with no output or exactly one
 * JSON object {"allow": true}) or an HTTPS URL (the same JSON, POSTed; allow only on 200 with
 * {"allow": true}). Everything else denies, with the reason: a crash, a kill, non-zero, two
 * objects, non-JSON, non-UTF-8, too much output, no answer in time. The hook runs in its own
 * process group, killed whole at the deadline, so a grandchild holding its stdout cannot keep
 * the request waiting. The hook's location comes only from the agent's own config.
 *
 * An executable hook gets the allowlist's checks (open-executable.ts): the hook and each `#!`
 * interpreter, walked from `/` when the agent loads it and again at every call, executed through
 * the descriptors that walk opened; a file that changed since load (or fails a check) denies
 * until the agent reloads (SIGHUP). `#!/usr/bin/env node` needs `"hookInterpreter"` in config.json.
 */
import {spawn, type ChildProcessByStdio, type SpawnOptions} from 'node:child_process';
import type {Readable, Writable} from 'node:stream';
import {TextDecoder} from 'node:util';
import type {ApprovalClaim} from '../source/protocol/frames.js';
import type {TokenScope} from '../source/policy/tokens.js';
import {changedFile, type ExecIdentity, type Owners} from './allowlist.js';
import {inspectExecutable, openExecutable, type OpenedExecutable} from './open-executable.js';
import {nameTheInterpreter} from './shebang.js';
import {probeWriter} from './writer-check.js';

export type HookContext = {
	requestId: string;
	agent: {name: string; tags: Record<string, string>};
	script: string;
	args: readonly string[];
	caller: string;
	token: TokenScope | null;
	/** The controller's connection to this agent. */
	source: string;
	/** Where the caller reached the controller from (a REST API client's address); null from the CLI. */
	callerSource: string | null;
	timestamp: string;
	dryRun: boolean;
	/** The two-person approval this run executes ({id, approvers, at, planHash, entryDigest}), or null. */
	approval: ApprovalClaim | null;
};

export type HookVerdict = {allow: boolean; reason: string};

export type HookConfig = {command?: string; url?: string; timeoutMs: number; env?: Record<string, string>; ca?: string; file?: HookFile};

/** The executable hook as checked at load: its files' identity, or why it cannot be used. */
export type HookFile = {interpreter?: string; owners: Owners} & ({identity: ExecIdentity} | {problem: string});

/** Checks the hook's files (at start and on reload); the result goes into `config.file`. */
export function loadHookFile(command: string, owners: Owners, interpreter?: string): HookFile {
	const check = inspectExecutable(command, owners, interpreter);
	if (!check.ok) {
		// A hook's interpreter is named in config.json, not in an allowlist entry.
		const problem = check.reason.replace(nameTheInterpreter, 'name it in config.json ("hookInterpreter": "/usr/bin/NAME")');
		return {owners, ...(interpreter ? {interpreter} : {}), problem};
	}

	return {owners, ...(interpreter ? {interpreter} : {}), identity: check.identity};
}

/** Opens the hook for one call, refusing it when it fails a check or changed since load. */
function openHook(command: string, file: HookFile | undefined): OpenedExecutable | string {
	if (!file) {
		return 'it was not checked when the agent loaded it';
	}

	if ('problem' in file) {
		return file.problem;
	}

	const check = openExecutable(command, file.owners, file.interpreter);
	if (!check.ok) {
		return check.reason;
	}

	const changed = changedFile(check.identity, file.identity);
	if (changed !== undefined) {
		check.executable.close();
		return `${changed} changed since the agent loaded it; check it, then reload the agent (SIGHUP)`;
	}

	return check.executable;
}

export const maxHookOutputBytes = 64 * 1024;

/** `stop`: the run was stopped (a cancel, the agent stopping): an executable hook still asked is killed, and denies. */
export async function askHook(config: HookConfig, context: HookContext, stop?: AbortSignal): Promise<HookVerdict> {
	if (config.command) {
		return askExecutable(config.command, context, config, stop);
	}

	if (config.url) {
		return askUrl(config.url, context, config);
	}

	return {allow: true, reason: 'no hook configured'};
}

/** Reads a hook's answer: one JSON object {"allow": bool, "reason"?: string}, or nothing (exit status decides). */
export function readVerdict(output: Buffer, exitAllows: boolean, exitDescription: string, emptyAllows = true): HookVerdict {
	let text: string;
	try {
		text = new TextDecoder('utf-8', {fatal: true}).decode(output).trim();
	} catch {
		return {allow: false, reason: 'the hook printed bytes that are not UTF-8'};
	}

	if (text === '') {
		return exitAllows && emptyAllows ? {allow: true, reason: 'the hook allowed it (exit 0)'} : {allow: false, reason: `the hook denied it (${exitDescription})`};
	}

	let answer: unknown;
	try {
		answer = JSON.parse(text);
	} catch {
		return {allow: false, reason: `the hook printed something other than one JSON object${exitAllows ? '' : ` (${exitDescription})`}`};
	}

	if (typeof answer !== 'object' || answer === null || Array.isArray(answer) || typeof (answer as {allow?: unknown}).allow !== 'boolean') {
		return {allow: false, reason: 'the hook\'s answer has no boolean "allow"'};
	}

	const {allow, reason} = answer as {allow: boolean; reason?: unknown};
	const said = typeof reason === 'string' ? reason.slice(0, 500) : undefined;
	if (allow && exitAllows) {
		return {allow: true, reason: said ?? 'the hook allowed it'};
	}

	return {allow: false, reason: said ?? (exitAllows ? 'the hook denied it' : `the hook denied it (${exitDescription})`)};
}

async function askExecutable(command: string, context: HookContext, config: HookConfig, stop?: AbortSignal): Promise<HookVerdict> {
	const executable = openHook(command, config.file);
	if (typeof executable === 'string') {
		return {allow: false, reason: `the auth hook is refused: ${executable}`};
	}

	// Just before the start: a script of the hook its interpreter reads from the file must have no writer (writer-check.ts).
	const writer = await executable.writers(probeWriter);
	if (writer !== undefined) {
		executable.close();
		return {allow: false, reason: `the auth hook is refused: ${writer}`};
	}

	// The hook sees fd 0 and 1 (its pipes), stderr discarded, and fd 3... its executable chain (run-script.ts).
	const program = executable.plan([]);
	return new Promise<HookVerdict>(resolve => {
		const env = Object.assign(Object.create(null) as Record<string, string>, {PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8'}, config.env);
		// A null-prototype options object naming every option: a polluted Object.prototype has nothing to fill in.
		const options = Object.assign(Object.create(null) as SpawnOptions, {shell: false, detached: true, stdio: ['pipe', 'pipe', 'ignore', ...executable.descriptors], env, cwd: '/', argv0: program.argv0, uid: undefined, gid: undefined, windowsHide: true, timeout: undefined, killSignal: undefined, signal: undefined} satisfies SpawnOptions);
		let child: ChildProcessByStdio<Writable, Readable, null>;
		try {
			child = spawn(program.file, program.args, options) as ChildProcessByStdio<Writable, Readable, null>;
		} catch (error) {
			// node throws, rather than emits, most exec errors (ETXTBSY: a file of the hook is open for writing).
			executable.close();
			resolve({allow: false, reason: `the hook could not be started (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`});
			return;
		}

		// Started (exec done, the ELF executable can no longer be written): was any file written since openHook checked it?
		const changed = child.pid === undefined ? undefined : executable.changed('started');
		// The child holds its own copies now.
		executable.close();
		const chunks: Buffer[] = [];
		let size = 0;
		let settled = false;
		const finish = (verdict: HookVerdict) => {
			if (settled) {
				return;
			}

			settled = true;
			clearTimeout(timer);
			stop?.removeEventListener('abort', stopped);
			killGroup(child.pid);
			child.stdout.destroy();
			resolve(verdict);
		};

		const timer = setTimeout(() => {
			finish({allow: false, reason: `the hook gave no answer within ${config.timeoutMs / 1000} s`});
		}, config.timeoutMs);
		// A stop must not wait for the hook's deadline (the agent's stop waits for every run).
		const stopped = () => finish({allow: false, reason: 'the run was stopped while its hook was asked'});
		stop?.addEventListener('abort', stopped, {once: true});
		if (stop?.aborted) {
			stopped();
		}
		if (changed !== undefined) {
			finish({allow: false, reason: `the auth hook is refused: ${changed} changed since the agent loaded it; check it, then reload the agent (SIGHUP); it was killed as it started`});
		}

		child.on('error', error => {
			finish({allow: false, reason: `the hook could not be started (${(error as NodeJS.ErrnoException).code ?? error.message})`});
		});
		child.stdin.on('error', () => undefined);
		child.stdin.end(JSON.stringify(context));
		child.stdout.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > maxHookOutputBytes) {
				finish({allow: false, reason: `the hook printed more than ${maxHookOutputBytes} bytes`});
				return;
			}

			chunks.push(chunk);
		});
		// Decide when the hook itself exits and its stdout has ended; a grandchild that keeps
		// stdout open only delays this until the deadline, which then kills the whole group.
		let exit: {code: number | null; signal: NodeJS.Signals | null} | undefined;
		let ended = false;
		const decide = () => {
			if (exit && ended) {
				const description = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
				finish(readVerdict(Buffer.concat(chunks), exit.code === 0, description));
			}
		};

		child.stdout.on('end', () => {
			ended = true;
			decide();
		});
		child.on('exit', (code, signal) => {
			exit = {code, signal};
			decide();
		});
	});
}

async function askUrl(url: string, context: HookContext, config: HookConfig): Promise<HookVerdict> {
	// Loaded by the first ask: an agent without a URL hook does not carry node:https (and node:http) in its memory.
	const {request} = await import('node:https');
	return new Promise(resolve => {
		const body = JSON.stringify(context);
		let settled = false;
		const finish = (verdict: HookVerdict) => {
			if (!settled) {
				settled = true;
				clearTimeout(timer);
				resolve(verdict);
			}
		};

		const timer = setTimeout(() => {
			outgoing.destroy();
			finish({allow: false, reason: `the hook at ${url} gave no answer within ${config.timeoutMs / 1000} s`});
		}, config.timeoutMs);
		const outgoing = request(url, {
			method: 'POST',
			headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
			...(config.ca ? {ca: [config.ca]} : {}),
			rejectUnauthorized: true,
			minVersion: 'TLSv1.2',
		}, response => {
			const chunks: Buffer[] = [];
			let size = 0;
			response.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (size > maxHookOutputBytes) {
					outgoing.destroy();
					finish({allow: false, reason: `the hook at ${url} answered more than ${maxHookOutputBytes} bytes`});
					return;
				}

				chunks.push(chunk);
			});
			response.on('end', () => {
				if (response.statusCode !== 200) {
					// No redirects are followed: a 3xx is an answer we do not accept.
					finish({allow: false, reason: `the hook at ${url} answered HTTP ${response.statusCode ?? '?'}`});
					return;
				}

				finish(readVerdict(Buffer.concat(chunks), true, 'HTTP 200 with no answer', false));
			});
			response.on('error', () => finish({allow: false, reason: `the hook at ${url} broke off its answer`}));
		});
		outgoing.on('error', error => {
			finish({allow: false, reason: `the hook at ${url} cannot be reached (${(error as NodeJS.ErrnoException).code ?? error.message})`});
		});
		outgoing.end(body);
	});
}

function killGroup(pid: number | undefined): void {
	if (pid === undefined) {
		return;
	}

	try {
		process.kill(-pid, 'SIGKILL');
	} catch {
		// Already gone.
	}
}
