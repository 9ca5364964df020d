/**
 * The latency-bound world the bench cannot be on one small machine: every host on a machine of its
 * own, only the controller on this one. On loopback, the hosts' CPU (sshd and its sessions, the
 * agents and their scripts) shares the controller's cores, so a fan-out through the delaying
 * proxies still measures CPU, not round trips. This model puts together what the same run measured
 * of each side, and nothing else:
 *
 *   time = max(controller CPU / the cores it can use,
 *              waves × (round trips per host × RTT + one host's CPU + the controller's CPU per host))
 *
 * The first term is the controller's CPU (client processes, handshakes, start-up) spread over the
 * cores it can use: parallel-ssh's ssh clients are processes of their own and use every core; our
 * CLI is one node thread and uses one. The second is the critical path: a host's round trips and
 * the CPU spent on it at both ends, once per wave of `parallel` hosts (ceil(hosts / parallel)). A
 * lower bound for both sides alike; it ignores queueing, which only adds. Pure.
 */
export type SideCost = {
	hosts: number;
	parallel: number;
	/** Round trips per host, as the delaying proxies counted them. */
	roundTrips: number;
	rttMs: number;
	/** CPU per host on the host's side (sshd and its session; the agent and its script), ms. */
	hostCpuMs: number;
	/** CPU of the whole run on the controller's side (the CLI, or parallel-ssh and its ssh clients), ms. */
	controllerCpuMs: number;
	/** How many cores the controller's side can use at once. */
	controllerCores: number;
};

export type Modelled = {ms: number; bound: 'controller CPU' | 'round trips'; cpuTermMs: number; pathTermMs: number};

export function latencyBound(cost: SideCost): Modelled {
	const waves = Math.ceil(cost.hosts / Math.max(1, Math.min(cost.parallel, cost.hosts)));
	const cpuTermMs = cost.controllerCpuMs / Math.max(1, cost.controllerCores);
	const pathTermMs = waves * ((cost.roundTrips * cost.rttMs) + cost.hostCpuMs + (cost.controllerCpuMs / Math.max(1, cost.hosts)));
	return cpuTermMs >= pathTermMs ? {ms: cpuTermMs, bound: 'controller CPU', cpuTermMs, pathTermMs} : {ms: pathTermMs, bound: 'round trips', cpuTermMs, pathTermMs};
}
