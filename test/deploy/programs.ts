/**
 * Both programs as a deployment test meets them: a command line that starts one (a single
 * executable, `node bundle.cjs`, or an installed program inside a chroot), run to the end or
 * spawned with its output lines at hand, and the pairing ceremony between two of them through
 * their JSON faces (`xi-exec pair --json` reading `approve NAME CODE` on stdin).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createInterface} from 'node:readline';

/** How to start a program: the command, the words before the program's own arguments, its environment. */
export type Program = {command: string; prefix?: string[]; env?: Record<string, string>};

export type Finished = {code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string};

export type Running = {
	child: ChildProcess;
	lines: string[];
	/** The first JSON line whose `event` is `event` (or that `match` accepts); refused if the program ends first. */
	event: (event: string, match?: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
	write: (line: string) => void;
	stop: (signal?: NodeJS.Signals) => Promise<Finished>;
	exit: Promise<Finished>;
};

export function start(program: Program, args: string[], options: {stdin?: 'pipe' | 'ignore'} = {}): Running {
	const child = spawn(program.command, [...(program.prefix ?? []), ...args], {env: {...process.env, ...program.env}, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe']});
	const lines: string[] = [];
	let stdout = '';
	let stderr = '';
	const waiters = new Set<() => void>();
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	createInterface({input: child.stdout!}).on('line', line => {
		lines.push(line);
		stdout += `${line}\n`;
		for (const wake of waiters) {
			wake();
		}
	});
	const exit = new Promise<Finished>(resolve => {
		child.on('close', (code, signal) => {
			resolve({code, signal, stdout, stderr});
			for (const wake of waiters) {
				wake();
			}
		});
	});
	const finished = () => child.exitCode !== null || child.signalCode !== null;
	return {
		child,
		lines,
		async event(event, match = line => line['event'] === event) {
			for (let index = 0; ; index++) {
				while (index >= lines.length) {
					if (finished()) {
						const result = await exit;
						throw new Error(`${[program.command, ...(program.prefix ?? []), ...args].join(' ')} ended (${result.code ?? result.signal}) before "${event}":\n${stdout}${stderr}`);
					}

					await new Promise<void>(resolve => {
						const wake = () => {
							waiters.delete(wake);
							resolve();
						};

						waiters.add(wake);
					});
				}

				const parsed = parseJson(lines[index]!);
				if (parsed && match(parsed)) {
					return parsed;
				}
			}
		},
		write(line) {
			child.stdin!.write(`${line}\n`);
		},
		async stop(signal = 'SIGTERM') {
			if (!finished()) {
				child.kill(signal);
			}

			return exit;
		},
		exit,
	};
}

export async function run(program: Program, args: string[]): Promise<Finished> {
	return start(program, args).exit;
}

/** Runs and insists on exit 0, with everything the program said in the failure. */
export async function succeed(program: Program, args: string[]): Promise<string> {
	const result = await run(program, args);
	if (result.code !== 0) {
		throw new Error(`${[program.command, ...(program.prefix ?? []), ...args].join(' ')} exited with ${result.code ?? result.signal}:\n${result.stdout}${result.stderr}`);
	}

	return result.stdout;
}

/**
 * The whole ceremony: `xi-exec pair --listen 127.0.0.1:0 --json` on the controller (or another
 * address, and the one the agent dials to reach it), `xi-exec-agent pair --controller ADDR
 * --ca-sha256 HASH --json` on the agent, the agent's code typed into the controller. Resolves with
 * both sides' `paired` events.
 */
export async function pair(controller: Program, agent: Program, name: string, network: {listen: string; dial?: string} = {listen: '127.0.0.1:0'}): Promise<{controller: Record<string, unknown>; agent: Record<string, unknown>}> {
	const caSha256 = (await succeed(controller, ['ca', 'fingerprint'])).trim();
	const listener = start(controller, ['pair', '--listen', network.listen, '--json'], {stdin: 'pipe'});
	try {
		const {address} = await listener.event('listening');
		const joining = start(agent, ['pair', '--controller', network.dial ?? String(address), '--ca-sha256', caSha256, '--json']);
		try {
			const {code} = await joining.event('code');
			await listener.event('request');
			listener.write(`approve ${name} ${String(code)}`);
			const paired = {controller: await listener.event('paired'), agent: await joining.event('paired')};
			const finished = await joining.exit;
			if (finished.code !== 0) {
				throw new Error(`xi-exec-agent pair exited with ${finished.code ?? finished.signal}: ${finished.stderr}`);
			}

			return paired;
		} finally {
			await joining.stop('SIGKILL');
		}
	} finally {
		await listener.stop('SIGINT');
	}
}

function parseJson(line: string): Record<string, unknown> | undefined {
	try {
		const value = JSON.parse(line) as unknown;
		return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined;
	} catch {
		return undefined;
	}
}
