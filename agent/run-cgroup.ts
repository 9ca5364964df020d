/**
 * One cgroup per script, as systemd does for a service: a process group does not hold a child
 * that calls `setsid`, a cgroup does. When the agent runs as root and its own cgroup sits in a
 * writable cgroup v2 hierarchy (found from /proc/self/mountinfo and /proc/self/cgroup, wherever
 * it is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system), each script
 * runs in a child cgroup of the agent's own; on cancel or timeout, and when the script ends,
 * everything left in it is killed with `cgroup.kill` (each pid in `cgroup.procs` on kernels
 * before 5.14, which lack it) and the cgroup is removed. Otherwise the agent keeps the
 * process-group kill, and says so when it starts.
 *
 * The child starts in its cgroup, never outside it: the agent moves itself into the new cgroup,
 * spawns (synchronously, so nothing else of the agent runs meanwhile), and moves back. A script
 * that forks at once cannot leave a child behind in the agent's cgroup.
 *
 * The parsing is pure; the rest is a thin shell over the cgroup files.
 */
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

/** `\040` and friends: how mountinfo escapes spaces, tabs, newlines and backslashes in paths. */
function unescapeMountPath(text: string): string {
	return text.replaceAll(/\\([0-7]{3})/g, (_, octal: string) => String.fromCodePoint(Number.parseInt(octal, 8)));
}

/**
 * The directory of this process's own cgroup in the cgroup v2 hierarchy, from the text of
 * /proc/self/mountinfo and /proc/self/cgroup; undefined when there is no cgroup v2 mount, or
 * when our cgroup is not visible under it.
 */
export function ownCgroupDirectory(mountinfo: string, selfCgroup: string): string | undefined {
	const own = /^0::(\/.*)$/m.exec(selfCgroup)?.[1];
	if (own === undefined || own.endsWith(' (deleted)')) {
		return undefined;
	}

	for (const line of mountinfo.split('\n')) {
		// id parent major:minor root mount-point options [optional fields...] - fstype source super-options
		const [before, after] = line.split(' - ');
		const fields = before?.split(' ') ?? [];
		if (after?.split(' ')[0] !== 'cgroup2' || fields.length < 5) {
			continue;
		}

		const root = unescapeMountPath(fields[3]!);
		const mountPoint = unescapeMountPath(fields[4]!);
		if (root === '/') {
			return own === '/' ? mountPoint : join(mountPoint, own);
		}

		if (own === root || own.startsWith(`${root}/`)) {
			return join(mountPoint, own.slice(root.length));
		}
	}

	return undefined;
}

/**
 * Whose run cgroups these are: a short hash of the agent's name and home, so agents sharing a
 * parent cgroup (several on one host, or test runs side by side) each reap only their own.
 */
export function runCgroupOwner(agentName: string, home: string): string {
	return createHash('sha256').update(`${agentName}\0${home}`).digest('hex').slice(0, 12);
}

/**
 * The run cgroups left by this agent's earlier process that died (a crash, SIGKILL) before it
 * could kill and remove them: named `xi-exec-OWNER-PID-…`, OWNER this agent's, and that pid is
 * gone. Another agent's (another owner), a live process's, and anything else are not touched.
 */
export function orphanedRunCgroups(names: readonly string[], owner: string, isAlive: (pid: number) => boolean): string[] {
	return names.filter(name => {
		const match = /^xi-exec-([\da-f]{12})-(\d+)-/.exec(name);
		return match !== null && match[1] === owner && !isAlive(Number(match[2]));
	});
}

export type RunCgroup = {
	path: string;
	/** Calls `spawn` with the agent inside this cgroup, so the child starts in it. */
	enter: <T>(spawn: () => T) => T;
	/** Sends a signal to every process in the cgroup (a polite SIGTERM before the kill). */
	signalAll: (signal: NodeJS.Signals) => void;
	/** Kills everything in the cgroup: `cgroup.kill`, else each pid in `cgroup.procs` until none is left. */
	kill: () => void;
	/** Removes the cgroup once it is empty; gives up (leaving an empty cgroup) after a while. */
	remove: () => Promise<void>;
};

export type RunCgroups = {
	/** Where run cgroups are made, and how they are killed. */
	describe: string;
	/** A fresh cgroup for one run, or undefined when it cannot be made (the run falls back to its process group). */
	create: (label: string) => RunCgroup | undefined;
	/** Kills and removes the run cgroups this agent's dead processes left (see orphanedRunCgroups); their names. */
	reapOrphans: () => Promise<string[]>;
};

/**
 * Detects whether scripts can run in their own cgroups here; a reason why not otherwise. `owner`
 * (runCgroupOwner) names this agent's run cgroups.
 */
export function detectRunCgroups(owner: string): RunCgroups | {problem: string} {
	if (process.getuid?.() !== 0) {
		return {problem: 'the agent is not root'};
	}

	let own: string | undefined;
	try {
		own = ownCgroupDirectory(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
	} catch (error) {
		return {problem: `cannot read /proc/self (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`};
	}

	if (own === undefined) {
		return {problem: 'no cgroup v2 hierarchy holds the agent'};
	}

	const cgroups = runCgroupsUnder(own, owner);
	// A probe: make and remove one, so a read-only or foreign hierarchy is found now, not at a run.
	const probe = cgroups.create('probe');
	if (!probe) {
		return {problem: `cannot create a cgroup under ${own}`};
	}

	rmdirSync(probe.path);
	return cgroups;
}

function runCgroupsUnder(own: string, owner: string): RunCgroups {
	let canKill: boolean | undefined;
	const handle = (path: string): RunCgroup => {
		const procs = () => readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(line => line !== '').map(Number);
		return {
			path,
			enter(spawn) {
				try {
					writeFileSync(join(path, 'cgroup.procs'), String(process.pid));
				} catch {
					// Cannot enter it: the run falls back to its process group.
					return spawn();
				}

				try {
					return spawn();
				} finally {
					writeFileSync(join(own, 'cgroup.procs'), String(process.pid));
				}
			},
			signalAll(signal) {
				for (const pid of safely(procs, [])) {
					signalPid(pid, signal);
				}
			},
			kill() {
				if (canKill && safely(() => {
					writeFileSync(join(path, 'cgroup.kill'), '1');
					return true;
				}, false)) {
					return;
				}

				// Kernels before 5.14: kill what is listed until nothing is (a fork may race the sweep).
				for (let round = 0; round < 100; round++) {
					const left = safely(procs, []);
					if (left.length === 0) {
						return;
					}

					for (const pid of left) {
						signalPid(pid, 'SIGKILL');
					}
				}
			},
			async remove() {
				for (let attempt = 0; attempt < 500; attempt++) {
					try {
						rmdirSync(path);
						return;
					} catch (error) {
						if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
							return;
						}
					}

					// Still populated: the killed processes are being reaped.
					await delay(10);
				}
			},
		};
	};

	return {
		get describe() {
			return `cgroup v2 under ${own} (${canKill === false ? 'each pid in cgroup.procs' : 'cgroup.kill'})`;
		},
		create(label) {
			const path = join(own, `xi-exec-${owner}-${process.pid}-${label.replaceAll(/[^\w-]/g, '_').slice(0, 64)}-${randomBytes(4).toString('hex')}`);
			try {
				mkdirSync(path);
			} catch {
				return undefined;
			}

			canKill ??= existsSync(join(path, 'cgroup.kill'));
			return handle(path);
		},
		async reapOrphans() {
			const orphans = orphanedRunCgroups(safely(() => readdirSync(own), []), owner, pid => existsSync(`/proc/${pid}`));
			for (const name of orphans) {
				const orphan = handle(join(own, name));
				orphan.kill();
				await orphan.remove();
			}

			return orphans;
		},
	};
}

function safely<T>(action: () => T, fallback: T): T {
	try {
		return action();
	} catch {
		return fallback;
	}
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(pid, signal);
	} catch {
		// Already gone.
	}
}
