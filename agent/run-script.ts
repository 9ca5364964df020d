/**
 * Runs one allowlisted script: no shell, arguments as argv, a fixed minimal environment, a fixed
 * working directory, stdin from /dev/null, in its own process group. On timeout or cancel the
 * whole group gets SIGTERM, then SIGKILL after a grace period (a library's own timeout would
 * signal the direct child only and then wait for pipes a grandchild may hold open). Given run
 * cgroups (root on cgroup v2, run-cgroup.ts), the script runs in its own cgroup, and the kill
 * reaches what left the group with `setsid` too; whatever is left in it when the script ends
 * is killed, and the cgroup removed. Output is
 * capped per stream; past the cap it is dropped and the result says so.
 *
 * What executes is a descriptor, never a name (open-executable.ts): the child inherits the
 * checked ELF executable as fd 3 and each script it interprets as fd 4, 5... (outermost first),
 * and executes `/proc/self/fd/3`. So the script can see: fd 0 (/dev/null), fds 1 and 2 (the
 * output pipes), and those O_PATH descriptors of its own executable chain, which grant nothing
 * (no read or write through them; reopening one checks the script user's own permissions).
 * Nothing else of the agent's: node opens every descriptor close-on-exec, and start.ts closes
 * inherited ones that are not.
 *
 * The spawn goes straight to node:child_process with a null-prototype options object that names
 * every option node reads, so a polluted Object.prototype has nothing to fill in. (execa, which
 * the style guide suggests, merges the `env` option with its bound options' `env` read from a
 * plain object: a polluted `Object.prototype.env` reached the script's environment through it.)
 */
import {spawn, type SpawnOptions} from 'node:child_process';
import {StringDecoder} from 'node:string_decoder';
import type {AgentStatus} from '../source/protocol/frames.js';
import type {RunCgroups} from './run-cgroup.js';
import {stoppedReason} from './stop-reasons.js';

export type ScriptLaunch = {
	/** What to execute (`/proc/self/fd/3`), argv[0], and the whole argument vector after it. */
	program: {file: string; argv0: string; args: readonly string[]};
	/** The descriptors the child inherits as fd 3, 4...: its executable chain (open-executable.ts). */
	descriptors: readonly number[];
	env: Record<string, string>;
	cwd: string;
	uid?: number;
	gid?: number;
	timeoutMs: number;
	outputCapBytes: number;
	killGraceMs: number;
	onStarted: () => void;
	onOutput: (stream: 'stdout' | 'stderr', text: string) => void;
	cancelSignal: AbortSignal;
	now: () => number;
	/** Run the script in its own cgroup (root on cgroup v2); without it, its process group is all there is. */
	cgroups?: RunCgroups;
	/** Names the run's cgroup (the request id). */
	label?: string;
};

export type ScriptOutcome = {
	status: AgentStatus;
	exitCode: number | null;
	signal: string | null;
	durationMs: number;
	truncated: boolean;
	bytes: {stdout: number; stderr: number};
	reason?: string;
};

/** A fresh environment on a null-prototype object: nothing inherited, nothing polluted. */
export function scriptEnvironment(values: {requestId: string; caller: string; script: string}): Record<string, string> {
	const env = Object.create(null) as Record<string, string>;
	env['PATH'] = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
	env['LANG'] = 'C.UTF-8';
	env['XI_EXEC_REQUEST_ID'] = values.requestId;
	env['XI_EXEC_CALLER'] = values.caller;
	env['XI_EXEC_SCRIPT'] = values.script;
	return env;
}

export async function runScript(launch: ScriptLaunch): Promise<ScriptOutcome> {
	const startedAt = launch.now();
	// Every option node reads is an own property, even when undefined: an own property is never
	// looked up on the prototype (node copies these into plain objects before the native spawn).
	const options = Object.assign(Object.create(null) as SpawnOptions, {
		shell: false,
		detached: true,
		stdio: ['ignore', 'pipe', 'pipe', ...launch.descriptors],
		env: launch.env,
		cwd: launch.cwd,
		argv0: launch.program.argv0,
		// Optional, so read as own properties only: an absent uid must not be found on a polluted prototype.
		uid: Object.hasOwn(launch, 'uid') ? launch.uid : undefined,
		gid: Object.hasOwn(launch, 'gid') ? launch.gid : undefined,
		windowsHide: true,
		windowsVerbatimArguments: false,
		serialization: 'json',
		timeout: undefined,
		killSignal: undefined,
		signal: undefined,
	} satisfies SpawnOptions);
	// Own properties only, like uid and gid below: nothing found on a polluted prototype.
	const cgroup = Object.hasOwn(launch, 'cgroups') ? launch.cgroups?.create(Object.hasOwn(launch, 'label') ? launch.label ?? 'run' : 'run') : undefined;
	const start = () => spawn(launch.program.file, [...launch.program.args], options);
	const child = cgroup ? cgroup.enter(start) : start();
	const ended = new Promise<{exitCode: number | null; signal: NodeJS.Signals | null; startError?: NodeJS.ErrnoException}>(resolve => {
		child.on('error', (error: NodeJS.ErrnoException) => {
			if (child.pid === undefined) {
				resolve({exitCode: null, signal: null, startError: error});
			}
		});
		child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
			resolve({exitCode, signal});
		});
	});

	const bytes = {stdout: 0, stderr: 0};
	let truncated = false;
	for (const stream of ['stdout', 'stderr'] as const) {
		const decoder = new StringDecoder('utf8');
		child[stream]?.on('data', (chunk: Buffer) => {
			const room = launch.outputCapBytes - bytes[stream];
			if (room <= 0) {
				truncated = true;
				return;
			}

			const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
			truncated ||= kept.length < chunk.length;
			bytes[stream] += kept.length;
			const text = decoder.write(kept);
			if (text.length > 0) {
				launch.onOutput(stream, text);
			}
		});
		child[stream]?.on('end', () => {
			const rest = decoder.end();
			if (rest.length > 0) {
				launch.onOutput(stream, rest);
			}
		});
	}

	let stopReason: 'timeout' | 'cancelled' | undefined;
	const timers: NodeJS.Timeout[] = [];
	const stop = (why: 'timeout' | 'cancelled') => {
		if (stopReason !== undefined || child.pid === undefined) {
			return;
		}

		stopReason = why;
		signalGroup(child.pid, 'SIGTERM');
		cgroup?.signalAll('SIGTERM');
		timers.push(setTimeout(() => {
			signalGroup(child.pid!, 'SIGKILL');
			// The cgroup holds what left the group too (setsid): kill all of it.
			cgroup?.kill();
			// A process that left the group (setsid) may still hold our pipes: stop waiting for them.
			timers.push(setTimeout(() => {
				child.stdout?.destroy();
				child.stderr?.destroy();
			}, launch.killGraceMs).unref());
		}, launch.killGraceMs).unref());
	};

	if (child.pid !== undefined) {
		launch.onStarted();
		timers.push(setTimeout(() => {
			stop('timeout');
		}, launch.timeoutMs).unref());
		if (launch.cancelSignal.aborted) {
			stop('cancelled');
		} else {
			launch.cancelSignal.addEventListener('abort', () => {
				stop('cancelled');
			}, {once: true});
		}
	}

	const result = await ended;
	for (const timer of timers) {
		clearTimeout(timer);
	}

	if (child.pid !== undefined) {
		// Whatever the script left behind in its group (and in its cgroup) goes with it.
		signalGroup(child.pid, 'SIGKILL');
	}

	if (cgroup) {
		cgroup.kill();
		await cgroup.remove();
	}

	const durationMs = Math.max(0, Math.round(launch.now() - startedAt));
	const {exitCode, signal} = result;
	const base = {exitCode, signal, durationMs, truncated, bytes};
	if (child.pid === undefined || result.startError) {
		return {...base, status: 'error', reason: `the script could not be started (${result.startError?.code ?? 'no process'})`};
	}

	if (stopReason === 'timeout') {
		return {...base, status: 'timeout', reason: `killed after the ${Math.round(launch.timeoutMs / 1000)} s timeout`};
	}

	if (stopReason === 'cancelled') {
		return {...base, status: 'cancelled', reason: stoppedReason(launch.cancelSignal.reason)};
	}

	if (exitCode === 0) {
		return {...base, status: 'ok'};
	}

	return {...base, status: 'failed', reason: signal ? `killed by ${signal}` : `exit code ${exitCode}`};
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch {
		// The group is already gone.
	}
}
