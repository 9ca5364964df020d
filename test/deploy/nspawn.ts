/**
 * A root file system booted with `systemd-nspawn --boot` (systemd as its PID 1, the host's
 * network), driven from this host with nsenter into the container's namespaces. The teardown
 * powers it off (nspawn turns SIGTERM into a poweroff), and kills it if that does not end it.
 */
import {spawn, spawnSync, type SpawnSyncReturns} from 'node:child_process';
import type {ExecutionContext} from 'ava';

export type Booted = {
	/** The container's PID 1, as this host sees it. */
	pid: number;
	/** A command inside the container (its mount, PID, IPC and UTS namespaces). */
	inside: (command: string[]) => SpawnSyncReturns<string>;
	/** The lines a unit wrote to the journal (`-o cat`: the messages only). */
	journal: (identifier: string) => string[];
	/** `systemctl poweroff`, resolving with nspawn's exit code and what it printed. */
	poweroff: () => Promise<{code: number | null; output: string}>;
};

export async function waitFor<T>(what: string, check: () => T | undefined, attempts = 600): Promise<T> {
	for (let attempt = 0; attempt < attempts; attempt++) {
		const value = check();
		if (value !== undefined) {
			return value;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}

	throw new Error(`gave up waiting for ${what}`);
}

function insideOf(pid: number, command: string[]) {
	return spawnSync('nsenter', ['--target', String(pid), '--mount', '--uts', '--ipc', '--pid', '--', ...command], {encoding: 'utf8'});
}

/** Boots `root` and resolves once its systemd says it is running (or degraded). */
export async function boot(t: ExecutionContext, root: string): Promise<Booted> {
	const nspawn = spawn('systemd-nspawn', ['--quiet', '-D', root, '--boot', '--register=no', '--keep-unit', '--console=pipe'], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	nspawn.stdout.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	nspawn.stderr.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	const exited = new Promise<number | null>(resolve => nspawn.once('exit', code => resolve(code)));
	t.teardown(async () => {
		if (nspawn.exitCode === null && nspawn.signalCode === null) {
			nspawn.kill('SIGTERM');
			const stopped = await Promise.race([exited.then(() => true), new Promise(resolve => setTimeout(() => resolve(false), 30_000))]);
			if (!stopped) {
				nspawn.kill('SIGKILL');
			}
		}
	});
	const pid = await waitFor('the container\'s systemd', () => {
		const child = spawnSync('pgrep', ['-P', String(nspawn.pid)], {encoding: 'utf8'}).stdout.trim();
		return child && insideOf(Number(child), ['systemctl', 'is-system-running']).stdout.trim().match(/^(running|degraded)$/) ? Number(child) : undefined;
	});
	const inside = (command: string[]) => insideOf(pid, command);
	return {
		pid,
		inside,
		journal: identifier => inside(['journalctl', '--no-pager', '-o', 'cat', `SYSLOG_IDENTIFIER=${identifier}`]).stdout.split('\n').filter(Boolean),
		async poweroff() {
			inside(['systemctl', 'poweroff']);
			return {code: await exited, output};
		},
	};
}
