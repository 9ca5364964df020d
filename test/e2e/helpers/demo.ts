/**
 * `xi-exec demo` in a detached tmux session (80×24 unless told) of a tmux server of our own, under
 * a TMPDIR of our own, once its fleet shows six reachable agents; torn down with everything it
 * started. The console end-to-end tests start from here.
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {processesUnder, run, screenWith as screenShowing, tmuxServer, waitFor} from './tmux.js';

export const repoRoot = new URL('../../..', import.meta.url).pathname;
export const cli = join(repoRoot, 'dist/source/cli.js');
export const agentCli = join(repoRoot, 'dist/agent/cli.js');

export type Demo = {
	server: ReturnType<typeof tmuxServer>;
	base: string;
	exitStatus: string;
	tmuxPid: number;
	demoDirectory: string;
	screenWith: (text: string | RegExp) => Promise<string>;
	/** The pane's terminal settings, as `stty -a` reads them. */
	stty: () => Promise<string>;
	/** `stty -a` as the pane's shell saw it after the console left. */
	sttyAfter: () => string;
	/** The console's own process: the one child of the pane's shell. */
	consolePid: () => number;
	exited: () => Promise<void>;
};

export async function startDemo(t: ExecutionContext, size = {columns: 80, rows: 24}): Promise<Demo> {
	t.true(existsSync(cli), `${cli} is missing: npm run build (npm install runs it through prepare)`);
	// The demo makes its directory under TMPDIR: a directory of our own tells its processes from any other test's.
	const base = mkdtempSync(join(tmpdir(), 'xi-exec-e2e-'));
	const server = tmuxServer();
	t.teardown(async () => {
		await server.kill();

		for (const {pid} of processesUnder(base)) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {
				// Already gone.
			}
		}

		rmSync(base, {recursive: true, force: true});
	});

	// Ink writes only the final frame when CI is set: the console must start without it.
	// tmux does not always know a dead pane's exit status (it may see the terminal close first): the shell writes it down.
	// The terminal's settings once the console has left: written by the shell, before the pane closes.
	const exitStatus = join(base, 'exit-status');
	const sttyAfter = join(base, 'stty-after');
	const command = `cd ${JSON.stringify(repoRoot)} && env -u CI TMPDIR=${JSON.stringify(base)} ${JSON.stringify(process.execPath)} dist/source/cli.js demo; echo $? > ${JSON.stringify(exitStatus)}; stty -a > ${JSON.stringify(sttyAfter)}`;
	await server.tmux('new-session', '-d', '-s', 'demo', '-x', String(size.columns), '-y', String(size.rows), command, ';', 'set-option', '-w', '-t', 'demo', 'remain-on-exit', 'on');
	// The tmux server keeps the command line it was started with: it is ours, not the demo's.
	const tmuxPid = Number((await server.tmux('display-message', '-p', '#{pid}')).trim());
	const panePid = Number((await server.tmux('display-message', '-p', '-t', 'demo', '#{pane_pid}')).trim());
	const paneTty = (await server.tmux('display-message', '-p', '-t', 'demo', '#{pane_tty}')).trim();

	const fleet = await waitFor('the fleet with six reachable agents', async () => {
		const screen = await server.screen();
		return screen.includes('6 of 6 agents') && screen.split('\n').filter(line => / reachable /.test(line)).length === 6 ? screen : undefined;
	}, server.screen);
	t.regex(fleet, /^xi-exec demo {2,}fleet\n/);
	const [demoDirectory] = readdirSync(base).filter(name => name.startsWith('xi-exec-demo-'));
	t.truthy(demoDirectory, 'the demo made its directory under our TMPDIR');
	return {
		server,
		base,
		exitStatus,
		tmuxPid,
		demoDirectory: join(base, demoDirectory!),
		screenWith: async (text: string | RegExp) => screenShowing(server, text),
		stty: async () => (await run('stty', ['-a', '-F', paneTty], {encoding: 'utf8'})).stdout,
		sttyAfter: () => readFileSync(sttyAfter, 'utf8'),
		consolePid() {
			const children = readdirSync('/proc').filter(entry => /^\d+$/.test(entry)).filter(entry => {
				try {
					return readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1] === String(panePid);
				} catch {
					return false;
				}
			});
			t.is(children.length, 1, 'the pane\'s shell runs one process: the console');
			return Number(children[0]);
		},
		exited: async () => {
			await waitFor('the demo to exit', async () => (await server.paneDead() ? true : undefined), async () => `${await server.screen()}\nstill running: ${JSON.stringify(processesUnder(base, [tmuxPid]))}`);
		},
	};
}

