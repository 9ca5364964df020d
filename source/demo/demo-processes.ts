/**
 * The demo's processes: each agent's home set up by the agent's own program (agent/demo/
 * set-up-home.ts: the controller does not import the agent), each agent started and waited for
 * until it listens (moved to another port when a busy host took the one it was paired with), and
 * every process stopped at the end. Each runs with nothing of the terminal: its stderr goes to a
 * log file in the demo's directory, and it runs in a session of its own (detached).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import type {RegistryStore} from '../registry/store.js';

// Two levels under dist/ as tsc writes this file and as the bundle's chunks are (scripts/bundle.js).
export const agentCli = fileURLToPath(new URL('../../agent/cli.js', import.meta.url));
const setUpHome = fileURLToPath(new URL('../../agent/demo/set-up-home.js', import.meta.url));

/** What agent/demo/set-up-home.ts is given (its own type: importing it would make the controller import the agent). */
export type AgentHomeSpec =
	| {home: string; name: string; listen: string; tags: string[]; scripts: Array<{name: string; path: string; options: Record<string, unknown>}>}
	| {home: string; listen: string};

/**
 * A demo process's stdio: nothing of the terminal. A process that shares the terminal restores the
 * terminal's settings as it exits (Node does, for a TTY on its stdio), which left the console deaf
 * in canonical echo mode after a plain `kill` of one agent.
 */
export function demoStdio(directory: string, name: string) {
	mkdirSync(join(directory, 'logs'), {recursive: true, mode: 0o700});
	const log = openSync(join(directory, 'logs', `${name}.log`), 'a', 0o600);
	return {stdio: ['ignore', 'pipe', log] as ['ignore', 'pipe', number], detached: true, close: () => closeSync(log)};
}

export async function setUpAgentHome(directory: string, spec: AgentHomeSpec, children: ChildProcess[]): Promise<void> {
	const name = 'name' in spec ? spec.name : 'move';
	const stdio = demoStdio(directory, `home-${name}`);
	const child = spawn(process.execPath, [setUpHome, JSON.stringify(spec)], {stdio: stdio.stdio, detached: stdio.detached});
	stdio.close();
	children.push(child);
	const code = await new Promise<number | null>(resolve => child.once('exit', resolve));
	if (code !== 0) {
		throw new Error(`an agent home could not be set up (exit ${code}); its log is ${join(directory, 'logs', `home-${name}.log`)}`);
	}
}

/** Resolves once a child has exited; one that outlives a SIGTERM by 5 s is killed. */
export async function stopped(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}

	const exited = new Promise(resolve => child.once('exit', resolve));
	const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
	await exited;
	clearTimeout(timer);
}

/**
 * Starts one demo agent. The port it was paired with was free when picked, but on a busy host
 * another process can take it before the agent starts: then the agent moves to a new port (its
 * configuration and the controller's registry both), a few times at most.
 */
export async function startDemoAgent(directory: string, name: string, home: string, children: ChildProcess[], registry: RegistryStore): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		const outcome = await startDemoAgentOnce(directory, name, home, children);
		if (outcome === 'listening') {
			return;
		}

		if (outcome.portTaken && attempt < 5) {
			const address = `127.0.0.1:${await freePort()}`;
			await setUpAgentHome(directory, {home, listen: address}, children);
			await registry.update(current => ({
				...current,
				agents: current.agents.map(record => (record.name === name ? {...record, address} : record)),
			}));
			continue;
		}

		throw new Error(`agent ${name} exited with ${outcome.code}; its log is ${join(directory, 'logs', `${name}.log`)}`);
	}
}

async function startDemoAgentOnce(directory: string, name: string, home: string, children: ChildProcess[]): Promise<'listening' | {code: number | null; portTaken: boolean}> {
	const logPath = join(directory, 'logs', `${name}.log`);
	const logStart = existsSync(logPath) ? statSync(logPath).size : 0;
	const stdio = demoStdio(directory, name);
	const child = spawn(process.execPath, [agentCli, 'start'], {env: {...process.env, XI_EXEC_AGENT_HOME: home}, stdio: stdio.stdio, detached: stdio.detached});
	stdio.close();
	children.push(child);
	return new Promise(resolve => {
		const lines = createInterface({input: child.stdout!});
		lines.on('line', line => {
			if (line.includes('"event":"listening"')) {
				resolve('listening');
			}
		});
		child.once('exit', code => {
			const log = readFileSync(logPath).subarray(logStart).toString();
			resolve({code, portTaken: log.includes('EADDRINUSE')});
		});
	});
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => resolve(port));
		});
	});
}
