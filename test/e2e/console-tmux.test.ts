/**
 * The console end to end, in a real terminal: `xi-exec demo` (six real agents, paired through
 * the real ceremony) in a detached 80×24 tmux session. Filter by a tag, run a script on the
 * agents shown, see every pane finish with its badge and the summary, quit, and find nothing
 * the demo started still running. Keys are sent one step at a time, each once the screen shows
 * the previous one was taken; waits poll the screen (generous limits: the demo starts six agents).
 */
import {execFile, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {promisify} from 'node:util';
import test from 'ava';

const repoRoot = new URL('../..', import.meta.url).pathname;
const cli = join(repoRoot, 'dist/source/cli.js');
const tmuxVersion = spawnSync('tmux', ['-V'], {encoding: 'utf8'});
const missing = tmuxVersion.error ? `tmux is not installed (${tmuxVersion.error.message})` : (existsSync('/proc/self/environ') ? undefined : 'there is no /proc to find the demo\'s processes in');
if (missing) {
	console.log(`Skipping the console's end-to-end test in tmux: ${missing}.`);
}

const run = promisify(execFile);

/** A tmux server of our own (its own socket): other tests' sessions are never touched. */
function tmuxServer(socket: string) {
	const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})).stdout;
	return {
		tmux,
		screen: async () => tmux('capture-pane', '-p', '-t', 'demo'),
		keys: async (...keys: string[]) => tmux('send-keys', '-t', 'demo', ...keys),
		text: async (text: string) => tmux('send-keys', '-t', 'demo', '-l', text),
		paneDead: async () => (await tmux('display-message', '-p', '-t', 'demo', '#{pane_dead}')).trim() === '1',
	};
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seen: () => Promise<string>, limitMs = 120_000): Promise<T> {
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

type Found = {pid: number; command: string; agentHome?: string};

/**
 * Processes started by this demo: their environment or command line names its temporary
 * directory. (Not by name: other tests run agents too, and every process of ours is titled
 * `xi-exec`.) An agent says which home it serves in XI_EXEC_AGENT_HOME.
 */
function processesUnder(directory: string, except: number[] = []): Found[] {
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
const trimmed = (screen: string) => screen.split('\n').map(line => line.trimEnd()).join('\n').replace(/\n+$/, '');

(missing ? test.skip : test)('the demo in a real terminal: filter by a tag, run on the agents shown, every pane finishes, quit, nothing left running', async t => {
	t.timeout(300_000);
	t.true(existsSync(cli), `${cli} is missing: npm run build (npm install runs it through prepare)`);
	// The demo makes its directory under TMPDIR: a directory of our own tells its processes from any other test's.
	const base = mkdtempSync(join(tmpdir(), 'xi-exec-e2e-'));
	const server = tmuxServer(`xi-exec-e2e-${process.pid}`);
	t.teardown(async () => {
		// tmux leaves its socket behind: ask where it is, then remove it with the server.
		const socketPath = (await server.tmux('display-message', '-p', '#{socket_path}').catch(() => '')).trim();
		await server.tmux('kill-server').catch(() => undefined);
		if (socketPath !== '') {
			rmSync(socketPath, {force: true});
		}

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
	const exitStatus = join(base, 'exit-status');
	const command = `cd ${JSON.stringify(repoRoot)} && env -u CI TMPDIR=${JSON.stringify(base)} ${JSON.stringify(process.execPath)} dist/source/cli.js demo; echo $? > ${JSON.stringify(exitStatus)}`;
	await server.tmux('new-session', '-d', '-s', 'demo', '-x', '80', '-y', '24', command, ';', 'set-option', '-w', '-t', 'demo', 'remain-on-exit', 'on');
	// The tmux server keeps the command line it was started with: it is ours, not the demo's.
	const tmuxPid = Number((await server.tmux('display-message', '-p', '#{pid}')).trim());

	const fleet = await waitFor('the fleet with six reachable agents', async () => {
		const screen = await server.screen();
		return screen.includes('6 of 6 agents') && screen.split('\n').filter(line => / reachable /.test(line)).length === 6 ? screen : undefined;
	}, server.screen);
	t.regex(fleet, /^xi-exec demo {2,}fleet\n/);

	const [demoDirectory] = readdirSync(base).filter(name => name.startsWith('xi-exec-demo-'));
	t.truthy(demoDirectory, 'the demo made its directory under our TMPDIR');
	const agentsHome = join(base, demoDirectory!, 'agents');
	const agents = processesUnder(agentsHome);
	t.deepEqual(agents.map(agent => agent.agentHome).sort(), ['cache1', 'db1', 'db2', 'web1', 'web2', 'web3'].map(name => join(agentsHome, name)), 'one agent process per home: the search finds what the demo started');

	const screenWith = async (text: string) => waitFor(JSON.stringify(text), async () => {
		const screen = await server.screen();
		return screen.includes(text) ? screen : undefined;
	}, server.screen);

	await server.keys('/');
	await screenWith('Filter: ');
	await server.text('role=web');
	await screenWith('Filter: role=web    3 of 6 agents');
	await server.keys('Enter');
	const filtered = await screenWith('Filter (/): role=web   3 of 6 agents');
	t.deepEqual(filtered.split('\n').filter(line => / reachable /.test(line)).map(line => line.split(' ')[0]), ['web1', 'web2', 'web3']);

	await server.keys('r');
	const pick = await screenWith('Run a script on 3 agents: pick one');
	t.regex(pick, /\ncheck-service {6}3\/3 {6}Check the web service/, 'check-service is first: the cursor is on it');
	await server.keys('Enter');
	await screenWith('check-service: arguments');
	await server.keys('Enter');
	await screenWith('Run check-service on 3 agents?');
	await server.keys('Enter');

	const finished = await waitFor('every pane to finish', async () => {
		const screen = await server.screen();
		return screen.includes('finished') ? screen : undefined;
	}, server.screen);
	t.is(trimmed(finished).replace(uuid, '00000000-0000-0000-0000-000000000000'), `xi-exec demo                                                                 run
check-service  request 00000000-0000-0000-0000-000000000000
3 ok   finished
╭──────────────────────────────────────────────────────────────────────────────╮
│ web1  ok                                                                     │
│ web1: checking workers                                                       │
│ web1: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web2  ok                                                                     │
│ web2: checking workers                                                       │
│ web2: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web3  ok                                                                     │
│ web3: checking workers                                                       │
│ web3: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯

↑↓ host · c cancel · f rerun not-ok hosts · Esc back when done · Ctrl-C quit`);

	await server.keys('Escape');
	await screenWith('Filter (/): role=web');
	await server.keys('q');
	await waitFor('the demo to exit', async () => (await server.paneDead() ? true : undefined), async () => `${await server.screen()}\nstill running: ${JSON.stringify(processesUnder(base, [tmuxPid]))}`);
	t.is(readFileSync(exitStatus, 'utf8'), '0\n', 'the demo exited with status 0');
	t.deepEqual(processesUnder(base, [tmuxPid]), [], 'no process the demo started is left running');
	t.false(existsSync(join(base, demoDirectory!)), 'the demo removed its directory');
});
