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
 * checked ELF executable as fd 3 and a private copy of each script it interprets as fd 4, 5...
 * (outermost first, sealed-copy.ts), and executes `/proc/self/fd/3`. As soon as it has started,
 * `changedAtStart` says whether the ELF executable was written since the check (from then on the
 * kernel refuses writes to it); if so the group is killed at once and the run is denied. So the
 * script can see: fd 0 (/dev/null), fds 1 and 2 (the output pipes), and those O_PATH descriptors
 * of its own executable chain, which grant nothing (no read or write through them; reopening one
 * checks the script user's own permissions). Nothing else of the agent's: node opens every
 * descriptor close-on-exec, and start.ts closes inherited ones that are not.
 *
 * The spawn goes straight to node:child_process with a null-prototype options object that names
 * every option node reads, so a polluted Object.prototype has nothing to fill in. (execa, which
 * the style guide suggests, merges the `env` option with its bound options' `env` read from a
 * plain object: a polluted `Object.prototype.env` reached the script's environment through it.)
 */
import {ChildProcess, spawn, type SpawnOptions} from 'node:child_process';
import {StringDecoder} from 'node:string_decoder';
import type {AgentStatus} from '../source/protocol/frames.js';
import type {RunCgroup, RunCgroups} from './run-cgroup.js';
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
	/**
	 * Asked as soon as the child has started (its exec done): why what it executes is not what was
	 * checked, or undefined. A reason kills the group at once and is the run's answer (denied).
	 */
	changedAtStart?: () => string | undefined;
	/** The ELF executable's path, for the message when exec finds it open for writing (ETXTBSY). */
	executablePath?: string;
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
	// Own properties only, like uid and gid in spawnOptions: nothing found on a polluted prototype.
	const cgroup = Object.hasOwn(launch, 'cgroups') ? launch.cgroups?.create(Object.hasOwn(launch, 'label') ? launch.label ?? 'run' : 'run') : undefined;
	const child = startChild(launch, cgroup);
	if (!(child instanceof ChildProcess)) {
		if (cgroup) {
			await cgroup.remove();
		}

		const durationMs = Math.max(0, Math.round(launch.now() - startedAt));
		return outcomeOf({exitCode: null, signal: null, startError: child, started: false, changed: undefined, stopReason: undefined, durationMs, truncated: false, bytes: {stdout: 0, stderr: 0}}, launch);
	}

	const ended = childEnd(child);
	const output = captureOutput(child, launch);
	const stopper = groupStopper(child, cgroup, launch.killGraceMs);
	const changed = child.pid === undefined ? undefined : watchStarted(launch, stopper);
	const end = await ended;
	stopper.clear();
	if (child.pid !== undefined) {
		// Whatever the script left behind in its group (and in its cgroup) goes with it.
		signalGroup(child.pid, 'SIGKILL');
	}

	if (cgroup) {
		cgroup.kill();
		await cgroup.remove();
	}

	const durationMs = Math.max(0, Math.round(launch.now() - startedAt));
	return outcomeOf({...end, started: child.pid !== undefined, changed, stopReason: stopper.reason(), durationMs, truncated: output.truncated(), bytes: output.bytes}, launch);
}

/**
 * The child, started in the run's cgroup when there is one; or the error that kept exec from
 * starting it, which node throws rather than emits for most codes (ETXTBSY, E2BIG...).
 */
function startChild(launch: ScriptLaunch, cgroup: RunCgroup | undefined): ChildProcess | NodeJS.ErrnoException {
	const start = () => spawn(launch.program.file, [...launch.program.args], spawnOptions(launch));
	try {
		return cgroup ? cgroup.enter(start) : start();
	} catch (error) {
		return error as NodeJS.ErrnoException;
	}
}

/**
 * Every option node reads, as an own property even when undefined, on a null-prototype object:
 * an own property is never looked up on the prototype (node copies these into plain objects
 * before the native spawn).
 */
function spawnOptions(launch: ScriptLaunch): SpawnOptions {
	return Object.assign(Object.create(null) as SpawnOptions, {
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
}

type ChildEnd = {exitCode: number | null; signal: NodeJS.Signals | null; startError?: NodeJS.ErrnoException};

/** How the child ended: its exit once its pipes closed, or the error that kept it from starting. */
async function childEnd(child: ChildProcess): Promise<ChildEnd> {
	return new Promise<ChildEnd>(resolve => {
		child.on('error', (error: NodeJS.ErrnoException) => {
			if (child.pid === undefined) {
				resolve({exitCode: null, signal: null, startError: error});
			}
		});
		child.once('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
			resolve({exitCode, signal});
		});
	});
}

/** Passes each stream's output on as text, up to the cap per stream; past it, drops it and remembers. */
function captureOutput(child: ChildProcess, launch: Pick<ScriptLaunch, 'outputCapBytes' | 'onOutput'>): {bytes: {stdout: number; stderr: number}; truncated: () => boolean} {
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

	return {bytes, truncated: () => truncated};
}

type StopWhy = 'timeout' | 'cancelled' | 'changed';

type GroupStopper = {stop: (why: StopWhy) => void; stopAfter: (ms: number, why: StopWhy) => void; reason: () => StopWhy | undefined; clear: () => void};

/**
 * Stops the child's whole group once (and its cgroup, which holds what left the group with
 * setsid): SIGTERM, SIGKILL after the grace period, then stops waiting for pipes a process that
 * left the group may still hold. An executable that changed gets SIGKILL at once.
 */
function groupStopper(child: ChildProcess, cgroup: RunCgroup | undefined, killGraceMs: number): GroupStopper {
	let stopReason: StopWhy | undefined;
	const timers: NodeJS.Timeout[] = [];
	const kill = () => {
		signalGroup(child.pid!, 'SIGKILL');
		cgroup?.kill();
		timers.push(setTimeout(() => {
			child.stdout?.destroy();
			child.stderr?.destroy();
		}, killGraceMs).unref());
	};

	const stopper: GroupStopper = {
		stop(why) {
			if (stopReason !== undefined || child.pid === undefined) {
				return;
			}

			stopReason = why;
			if (why === 'changed') {
				kill();
				return;
			}

			signalGroup(child.pid, 'SIGTERM');
			cgroup?.signalAll('SIGTERM');
			timers.push(setTimeout(kill, killGraceMs).unref());
		},
		stopAfter(ms, why) {
			timers.push(setTimeout(() => {
				stopper.stop(why);
			}, ms).unref());
		},
		reason: () => stopReason,
		clear() {
			for (const timer of timers.splice(0)) {
				clearTimeout(timer);
			}
		},
	};
	return stopper;
}

/**
 * A child that started: first, whether what started is what was checked (if not, it is killed at
 * once and that is the answer); then the start is announced, the timeout and the cancel armed.
 */
function watchStarted(launch: ScriptLaunch, stopper: GroupStopper): string | undefined {
	const changed = Object.hasOwn(launch, 'changedAtStart') ? launch.changedAtStart?.() : undefined;
	if (changed !== undefined) {
		stopper.stop('changed');
		return changed;
	}

	launch.onStarted();
	stopper.stopAfter(launch.timeoutMs, 'timeout');
	if (launch.cancelSignal.aborted) {
		stopper.stop('cancelled');
	} else {
		launch.cancelSignal.addEventListener('abort', () => {
			stopper.stop('cancelled');
		}, {once: true});
	}

	return undefined;
}

type Ended = ChildEnd & {started: boolean; changed: string | undefined; stopReason: StopWhy | undefined; durationMs: number; truncated: boolean; bytes: {stdout: number; stderr: number}};

/** The result of a run from how it ended. Pure. */
function outcomeOf(ended: Ended, launch: Pick<ScriptLaunch, 'timeoutMs' | 'cancelSignal' | 'executablePath'>): ScriptOutcome {
	const {exitCode, signal, durationMs, truncated, bytes} = ended;
	const base = {exitCode, signal, durationMs, truncated, bytes};
	if (!ended.started || ended.startError) {
		const code = ended.startError?.code ?? 'no process';
		return {...base, status: 'error', reason: code === 'ETXTBSY'
			? `the script could not be started: ${launch.executablePath ?? 'its executable'} is open for writing by another process (ETXTBSY); nothing ran`
			: `the script could not be started (${code})`};
	}

	if (ended.changed !== undefined) {
		return {...base, status: 'denied', reason: ended.changed};
	}

	if (ended.stopReason === 'timeout') {
		return {...base, status: 'timeout', reason: `killed after the ${Math.round(launch.timeoutMs / 1000)} s timeout`};
	}

	if (ended.stopReason === 'cancelled') {
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
