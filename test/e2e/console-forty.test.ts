/**
 * The console at 40 hosts, in a real 80×24 terminal (tmux): 40 real agent processes, two of them
 * stopped after the fleet saw them, two without the script, three whose script fails. The run
 * screen accounts for every target with the state `xi-exec run --json` gives it, shows the hosts
 * in trouble first without a key, scrolls through the rest; Enter opens a failed host's whole
 * output (stderr marked); the history shows the run. The bytes the console wrote to the terminal
 * during the run are measured (tmux pipe-pane) and logged: speed belongs to `npm run bench`.
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, type RunningAgent} from '../helpers/fleet.js';
import {missing, processesUnder, screenWith, tmuxServer, waitFor} from './helpers/tmux.js';

if (missing) {
	console.log(`Skipping the console's 40-host test in tmux: ${missing}.`);
}

const names = [
	...Array.from({length: 24}, (_, index) => `web${index + 1}`),
	...Array.from({length: 8}, (_, index) => `db${index + 1}`),
	...Array.from({length: 8}, (_, index) => `cache${index + 1}`),
];
const failing = ['cache5', 'db3', 'web7'];
const withoutScript = ['db6', 'web12'];
const stopped = ['cache2', 'web20'];

/** A check that says where it ran; on the failing hosts it complains on stderr and exits 3. */
function checkScript(name: string): string {
	return failing.includes(name)
		? `#!/bin/sh\necho "${name}: checking disk"\necho "${name}: disk full on /var" >&2\nexit 3\n`
		: `#!/bin/sh\necho "${name}: checking disk"\necho "${name}: healthy"\n`;
}

/** `web7  ✗ failed (exit 3)` → ['web7', 'failed']: a host's line in the run screen's list. */
const hostLine = /^(?:[│ ]\s*)?(\w+?\d+)\s+[✓✗⧖⊘⊝!■↷·]\s+(ok|failed|timeout|unreachable|denied|error|cancelled|skipped)\b/;

(missing ? test.skip : test)('the console at 40 hosts: every target in the run\'s states as --json has them, failures first without a key, scrolling, a host\'s whole output, the history', async t => {
	t.timeout(600_000);
	const base = mkdtempSync(join(tmpdir(), 'xi-exec-e2e-forty-'));
	const server = tmuxServer();
	const agents: RunningAgent[] = [];
	t.teardown(async () => {
		await server.kill();
		await Promise.all(agents.map(async agent => agent.stop()));
		rmSync(base, {recursive: true, force: true});
	});

	const home = await createController();
	const enrolled = await Promise.all(names.map(async name => {
		const scripts: Record<string, string> = withoutScript.includes(name) ? {uptime: '/usr/bin/uptime'} : {check: installScript('check', checkScript(name))};
		return enrolAgent(home, {name, port: freePort(), tags: [`role=${name.replace(/\d+$/, '')}`, `site=${Number(/\d+/.exec(name)![0]) % 2 === 0 ? 'paris' : 'london'}`], scripts});
	}));
	const running = new Map<string, RunningAgent>();
	// A few at a time: forty Node start-ups at once on a small shared host are slow for all.
	for (let index = 0; index < enrolled.length; index += 8) {
		const started = await Promise.all(enrolled.slice(index, index + 8).map(async agent => [agent.name, await startAgent(agent)] as const));
		for (const [name, agent] of started) {
			running.set(name, agent);
			agents.push(agent);
		}
	}

	const bytesFile = join(base, 'terminal-bytes');
	// Ink writes only the final frame when CI is set: the console must start without it.
	const command = `env -u CI ${JSON.stringify(process.execPath)} ${JSON.stringify(controllerCli)} console --home ${JSON.stringify(home)} --pair-listen 127.0.0.1:0`;
	await server.tmux('new-session', '-d', '-s', server.session, '-x', '80', '-y', '24', command, ';', 'set-option', '-w', '-t', server.session, 'remain-on-exit', 'on');
	// The tmux server keeps the command line it was started with: it is ours, not the console's.
	const tmuxPid = Number((await server.tmux('display-message', '-p', '#{pid}')).trim());
	await waitFor('the fleet with its 40 agents checked', async () => {
		const screen = await server.screen();
		return screen.includes('40 of 40 agents') && !screen.includes('checking') ? screen : undefined;
	}, server.screen, 300_000);

	// Two hosts stop after the fleet saw them: the run still names them, unreachable.
	await Promise.all(stopped.map(async name => running.get(name)!.stop()));

	await server.keys('r');
	const pick = await screenWith(server, 'Run a script on 40 agents: pick one');
	t.regex(pick, /\ncheck {14}\d+\/40/, 'check is first (by name)');
	await server.keys('Enter');
	await screenWith(server, 'check: arguments');
	await server.keys('Enter');
	await screenWith(server, 'Run check on 40 agents?');
	await server.tmux('pipe-pane', '-t', server.session, '-o', `cat > ${JSON.stringify(bytesFile)}`);
	const startedAt = Date.now();
	await server.keys('Enter');
	const finished = await screenWith(server, 'f rerun failed', 300_000);
	const seconds = (Date.now() - startedAt) / 1000;
	await server.tmux('pipe-pane', '-t', server.session);
	const bytes = statSync(bytesFile).size;
	t.log(`terminal output during the 40-host run: ${bytes} bytes in ${seconds.toFixed(1)} s (${Math.round(bytes / seconds)} B/s)`);

	// What the CLI says of the same run: the states the console must show.
	const cli = await runCli(controllerCli, ['run', 'check', '--on', '*', '--json', '--home', home]);
	const results = (JSON.parse(cli.stdout) as {results: Array<{agent: string; status: string; reason?: string}>}).results;
	const expected = new Map(results.map(result => [result.agent, result.status]));
	t.log(results.filter(result => result.status !== 'ok').map(result => `${result.agent} ${result.status}: ${result.reason}`).join('\n'));
	t.is(expected.size, 40, `the CLI accounts for 40 hosts: ${cli.stdout}${cli.stderr}`);
	t.deepEqual([...expected.entries()].filter(([, status]) => status !== 'ok').map(([name]) => name).sort(), [...failing, ...withoutScript, ...stopped].sort());

	// At 80×24, without a key: the summary names the hosts in trouble, and they are the list's first lines.
	const lines = finished.split('\n');
	t.regex(finished, /33 ok/);
	const shownFirst = lines.map(line => hostLine.exec(line)).filter(match => match !== null).map(match => match[1]!);
	const trouble = [...expected.entries()].filter(([, status]) => status !== 'ok').map(([name]) => name);
	t.deepEqual(shownFirst.slice(0, trouble.length).sort(), [...trouble].sort(), `the hosts in trouble come first:\n${finished}`);
	for (const name of trouble) {
		t.true(finished.includes(name), `${name} is on the first screen`);
	}

	t.regex(finished, /more ↓/, 'the list says there is more below');

	// Scrolling a page at a time reaches every host, each in the state the CLI gives it.
	const seen = new Map<string, string>();
	for (let page = 0; page < 10 && seen.size < 40; page++) {
		for (const line of (await server.screen()).split('\n')) {
			const match = hostLine.exec(line);
			if (match) {
				seen.set(match[1]!, match[2]!);
			}
		}

		const before = await server.screen();
		await server.keys('PageDown');
		// The last page does not move: the wait gives up quietly and the loop ends.
		await waitFor('the list to move', async () => ((await server.screen()) === before ? undefined : true), server.screen, 5000).catch(() => undefined);
	}

	t.deepEqual(Object.fromEntries([...seen.entries()].sort()), Object.fromEntries([...expected.entries()].sort()), 'every target is on the run screen, in the state --json gives it');

	// Home: back to the first host, a failed one; Enter opens its whole output, stderr marked.
	await server.keys('Home');
	await screenWith(server, /^ ?cache5 /m);
	await server.keys('Enter');
	// The run screen's expanded pane marks stderr too: wait for the output screen's own line count.
	const output = await screenWith(server, /lines 1–2 of 2/);
	t.regex(output, /cache5: checking disk/);
	t.regex(output, /stderr│ cache5: disk full on \/var/);

	await server.keys('Escape');
	await screenWith(server, 'f rerun failed');
	await server.keys('Escape');
	await screenWith(server, '40 of 40 agents');
	await server.keys('h');
	const history = await screenWith(server, 'runs, newest first');
	t.regex(history, /2 runs, newest first/, 'the console\'s run and the CLI\'s');
	t.is(history.split('\n').filter(line => /check {2}33 ok · 3 failed · 2 denied · 2 unreachable/.test(line)).length, 2, `the history shows both runs with their outcome:\n${history}`);

	await server.keys('Escape');
	await screenWith(server, '40 of 40 agents');
	await server.keys('q');
	await waitFor('the console to exit', async () => (await server.paneDead() ? true : undefined), server.screen);
	t.deepEqual(processesUnder(home, [tmuxPid]), [], 'nothing of the console is left running');
});
