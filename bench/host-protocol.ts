/**
 * How a host process (agent-host.ts, bare-host.ts) talks to the bench: one readiness message (over
 * IPC when there is a channel, else one JSON line on stdout), and a clean exit when asked to stop
 * or when the bench goes away. Node built-ins only: bare-host.ts also runs without tsx.
 */
export type HostMessage = {ready: number; ports?: number[]} | {failed: string} | {counts: Array<{listen: number; roundTrips: number[]}>};

export function announce(message: HostMessage): void {
	if (process.send) {
		process.send(message);
	} else {
		process.stdout.write(JSON.stringify(message) + '\n');
	}
}

export function exitWhenAsked(close: () => Promise<void>): void {
	let closing = false;
	const stop = () => {
		if (closing) {
			return;
		}

		closing = true;
		setTimeout(() => process.exit(1), 5000).unref();
		void close().finally(() => process.exit(0));
	};

	// `on`, not `once`: a host holding audit logs has proper-lockfile's signal-exit listening too, which
	// re-sends the signal (killing the process before close() ends) once it is the only listener left.
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	process.on('disconnect', stop);
}
