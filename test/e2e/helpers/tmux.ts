/**
 * A real terminal for end-to-end tests: a tmux server of our own (its own socket, so other tests'
 * sessions are never touched), a detached session of a given size, its screen read with
 * capture-pane, and waits that poll the screen instead of sleeping a fixed time.
 */
import {execFile, spawnSync} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import {promisify} from 'node:util';

export const run = promisify(execFile);

const tmuxVersion = spawnSync('tmux', ['-V'], {encoding: 'utf8'});
/** Why the end-to-end tests cannot run here, or undefined when they can. */
export const missing = tmuxVersion.error ? `tmux is not installed (${tmuxVersion.error.message})` : (existsSync('/proc/self/environ') ? undefined : 'there is no /proc to find the processes in');

export type TmuxServer = ReturnType<typeof tmuxServer>;

export function tmuxServer(socket = `xi-exec-e2e-${process.pid}-${randomUUID().slice(0, 8)}`, session = 'demo') {
	const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8', maxBuffer: 16 * 1024 * 1024})).stdout;
	return {
		tmux,
		session,
		screen: async () => tmux('capture-pane', '-p', '-t', session),
		keys: async (...keys: string[]) => tmux('send-keys', '-t', session, ...keys),
		text: async (text: string) => tmux('send-keys', '-t', session, '-l', text),
		paneDead: async () => (await tmux('display-message', '-p', '-t', session, '#{pane_dead}')).trim() === '1',
		/** Stops the server and removes the socket tmux leaves behind. */
		async kill() {
			const socketPath = (await tmux('display-message', '-p', '#{socket_path}').catch(() => '')).trim();
			await tmux('kill-server').catch(() => undefined);
			if (socketPath !== '') {
				rmSync(socketPath, {force: true});
			}
		},
	};
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seen: () => Promise<string>, limitMs = 120_000): Promise<T> {
	const deadline = Date.now() + limitMs;
	for (;;) {
		const found = await probe();
		if (found !== undefined) {
			return found;
		}

		if (Date.now() > deadline) {
			throw new Error(`waited ${limitMs / 1000} s for ${what}; the screen shows:\n${await seen().catch((error: unknown) => String(error))}`);
		}

		await delay(100);
	}
}

/** Waits until the screen shows `text` (or matches it) and gives the screen. */
export async function screenWith(server: TmuxServer, text: string | RegExp, limitMs?: number): Promise<string> {
	return waitFor(String(text), async () => {
		const screen = await server.screen();
		return (typeof text === 'string' ? screen.includes(text) : text.test(screen)) ? screen : undefined;
	}, server.screen, limitMs);
}

export type Found = {pid: number; command: string; agentHome?: string};

/**
 * Processes started under a directory: their environment or command line names it. (Not by
 * name: other tests run agents too, and every process of ours is titled `xi-exec`.) An agent
 * says which home it serves in XI_EXEC_AGENT_HOME.
 */
export function processesUnder(directory: string, except: number[] = []): Found[] {
	const found: Found[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry) || [process.pid, ...except].includes(Number(entry))) {
			continue;
		}

		try {
			const environment = readFileSync(`/proc/${entry}/environ`, 'utf8');
			const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
			const variables = environment.split('\0');
			if (variables.some(variable => variable.includes(directory)) || command.includes(directory)) {
				const home = variables.find(variable => variable.startsWith('XI_EXEC_AGENT_HOME='));
				found.push({pid: Number(entry), command, ...(home ? {agentHome: home.slice('XI_EXEC_AGENT_HOME='.length)} : {})});
			}
		} catch {
			// Gone meanwhile, or not ours to read.
		}
	}

	return found;
}

const uuid = /[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}/g;
export const trimmed = (screen: string) => screen.split('\n').map(line => line.trimEnd()).join('\n').replace(/\n+$/, '');
/** A screen with what differs from one run to the next made equal: request ids, spinner glyphs, times. */
export const comparable = (screen: string) => trimmed(screen).replace(uuid, '00000000-0000-0000-0000-000000000000').replace(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/g, '⠋').replace(/\d+\.\d s\b/g, time => time.replace(/\d/g, '0'));
