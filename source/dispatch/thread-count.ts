/**
 * How many dispatch threads a run uses (thread-pool.ts): the controller setting `dispatchThreads`,
 * a whole number or "auto" (the default). One means the main thread alone, as before.
 *
 * "auto" uses threads only where they can pay: a machine with more than two cores (on two, the
 * agents or the rest of the machine want the second core: measured, README "Worker threads") and
 * a run of at least `autoMinHosts` hosts (a thread costs a start-up of its own; a small run is over
 * before the handshakes it would spread add up). Then one thread per `hostsPerThread` hosts, up to
 * one fewer than the cores (the main thread keeps the rollout, the history and the audit) and
 * `autoMaxThreads`.
 */
export type ThreadsSetting = number | 'auto';

export const autoMinHosts = 1000;
export const hostsPerThread = 500;
export const autoMaxThreads = 8;
export function dispatchThreadCount(setting: ThreadsSetting | undefined, machine: {cores: number; hosts: number}): number {
	if (setting === undefined || setting === 'auto') {
		if (machine.cores <= 2 || machine.hosts < autoMinHosts) {
			return 1;
		}

		return Math.max(1, Math.min(machine.cores - 1, Math.ceil(machine.hosts / hostsPerThread), autoMaxThreads));
	}

	// More threads than hosts would leave some idle.
	return Math.max(1, Math.min(setting, machine.hosts));
}


/**
 * How many targets a run's describe asks at once with `threads` dispatch threads on `cores`:
 * `parallel` (the plan's 64, set for the main thread alone) on each thread that has a core of its
 * own beside the main thread's. A describe mostly waits on round trips (at 200 ms RTT, N=1,000 on
 * 2 threads: 12.5 s at 64, 9.4 s at 128), but where the threads have no core to spare the machine
 * is CPU-bound, and more at once was slower (2 threads on 2 cores, agents on the same cores:
 * 5.6 s at 64, 6.5 s at 128, 7.3 s at 256).
 */
export function describeParallelism(parallel: number, machine: {threads: number; cores: number}): number {
	return parallel * Math.max(1, Math.min(machine.threads, machine.cores - 1));
}
