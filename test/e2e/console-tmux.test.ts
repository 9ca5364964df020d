/**
 * The console end to end, in a real terminal: `xi-exec demo` (six real agents, paired through
 * the real ceremony) in a detached 80×24 tmux session. Filter by a tag, run a script on the
 * agents shown, see every pane finish with its badge and the summary, quit, and find nothing
 * the demo started still running. Keys are sent one step at a time, each once the screen shows
 * the previous one was taken; waits poll the screen (generous limits: the demo starts six agents).
 */
import {spawn} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import test from 'ava';
import {agentCli, cli, startDemo} from './helpers/demo.js';
import {comparable, missing, processesUnder, run, waitFor} from './helpers/tmux.js';
if (missing) {
	console.log(`Skipping the console's end-to-end test in tmux: ${missing}.`);
}

/** `stty -a` of a terminal in raw mode (as the console sets it) or in the shell's cooked mode. */
const rawMode = /(^|\s)-icanon\s[\s\S]*?(^|\s)-echo\s/m;
const cookedMode = /(^|\s)icanon\s[\s\S]*?(^|\s)echo\s/m;

(missing ? test.skip : test)('the demo in a real terminal: filter by a tag, run on the agents shown, every pane finishes; run controls, a dry run and a canary; quit, nothing left running', async t => {
	t.timeout(300_000);
	const {server, base, tmuxPid, demoDirectory, exitStatus, screenWith, exited} = await startDemo(t);
	const agentsHome = join(demoDirectory, 'agents');
	const agents = processesUnder(agentsHome);
	t.deepEqual(agents.map(agent => agent.agentHome).sort(), ['cache1', 'db1', 'db2', 'web1', 'web2', 'web3'].map(name => join(agentsHome, name)), 'one agent process per home: the search finds what the demo started');

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
		return screen.includes('f rerun failed') ? screen : undefined;
	}, server.screen);
	t.is(comparable(finished), `xi-exec demo                                                                 run
check-service  request 00000000-0000-0000-0000-000000000000
3 ok   finished in 0.0 s
╭──────────────────────────────────────────────────────────────────────────────╮
│ web1  ✓ ok  0.0 s                                                            │
│ web1: checking workers                                                       │
│ web1: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web2  ✓ ok  0.0 s                                                            │
│ web2: checking workers                                                       │
│ web2: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭──────────────────────────────────────────────────────────────────────────────╮
│ web3  ✓ ok  0.0 s                                                            │
│ web3: checking workers                                                       │
│ web3: checking upstream                                                      │
│ service healthy                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯

↑↓ move · Enter output · f rerun failed · a audit · Esc back · ? help`);

	// The run controls: a batch and a canary set on the confirmation, a dry run of them (the
	// core's plan, each agent's answer), then the run, which waits for the canary's y.
	await server.keys('Escape');
	await screenWith('Filter (/): role=web');
	await server.keys('r');
	await screenWith('pick one');
	await server.keys('Enter');
	await screenWith('check-service: arguments');
	await server.keys('Enter');
	await screenWith('Rollout: all at once; 30 s a host');
	await server.keys('b');
	await screenWith('--batch (N or N% at once; empty: none):');
	await server.keys('2', 'Enter');
	await screenWith('Rollout: 2 at a time');
	await server.keys('c', '1', 'Enter');
	await screenWith('Rollout: 1 first (canary), then you are asked; 2 at a time; 30 s a host');
	await server.keys('d');
	const dryRun = await screenWith('Dry run: 3 would run, 0 would not (nothing ran)');
	t.is(comparable(dryRun).replace(/plan [\da-f]{12}/, 'plan 000000000000'), `xi-exec demo                                                                 run
Run check-service on 3 agents?
web1, web2, web3
Rollout: 1 first (canary), then you are asked; 2 at a time; 30 s a host
Enter to run, Esc to go back.
Dry run: 3 would run, 0 would not (nothing ran)  plan 000000000000
#  HOST  STARTS            WOULD RUN  REASON
1  web1  canary            yes        allowlisted; no auth hook configured
2  web2  after the canary  yes        allowlisted; no auth hook configured
3  web3  after the canary  yes        allowlisted; no auth hook configured${'\n'.repeat(13)}Enter run · d dry run · b m c t controls · digits the count if asked · Esc back`);
	await server.keys('Enter');
	const asked = await screenWith('The 1 canary host is ok: run on the other 2? y goes on · n stops here');
	t.regex(asked, /\n1 ok · 2 queued {3}\d+\.\d s · batch 2 · canary 1\n/, 'web2 and web3 wait for the answer');
	await server.keys('y');
	const canaryRun = await screenWith('f rerun failed');
	t.regex(canaryRun, /\n3 ok {3}finished in \d+\.\d s · batch 2 · canary 1\nGoing on with the other 2\.\n/);

	await server.keys('Escape');
	await screenWith('Filter (/): role=web');
	await server.keys('q');
	await exited();
	t.is(readFileSync(exitStatus, 'utf8'), '0\n', 'the demo exited with status 0');
	t.deepEqual(processesUnder(base, [tmuxPid]), [], 'no process the demo started is left running');
	t.false(existsSync(demoDirectory), 'the demo removed its directory');
});


(missing ? test.skip : test)('one demo agent stopped with SIGTERM leaves the console raw and responsive: it filters, runs (the agent unreachable), takes a burst of keys as typed one by one, approves a pasted pairing code; q gives the terminal back', async t => {
	t.timeout(400_000);
	const {server, tmuxPid, demoDirectory, exitStatus, screenWith, stty, sttyAfter, exited} = await startDemo(t);
	t.regex(await stty(), rawMode, 'the console runs the terminal raw');
	const [web1] = processesUnder(join(demoDirectory, 'agents', 'web1'), [tmuxPid]);
	t.truthy(web1, 'web1 runs');
	process.kill(web1!.pid, 'SIGTERM');
	await waitFor('web1 to exit', async () => (processesUnder(join(demoDirectory, 'agents', 'web1'), [tmuxPid]).length === 0 ? true : undefined), server.screen);
	t.regex(await stty(), rawMode, 'still raw after the agent exited: it never had the terminal');

	// Keys one at a time, each once the screen shows the previous one was taken.
	await server.keys('/');
	await screenWith('Filter: ');
	await server.text('site=london');
	await screenWith('3 of 6 agents');
	await server.keys('Enter');
	await screenWith('Filter (/): site=london');
	await server.keys('r');
	await screenWith('pick one');
	await server.keys('Enter');
	await screenWith('check-service: arguments');
	await server.keys('Enter');
	await screenWith('Run check-service on 3 agents?');
	await server.keys('Enter');
	const oneByOne = await screenWith('f rerun failed');
	t.regex(oneByOne, /web1 +[✗⊘]? ?unreachable/, 'web1 is on the run screen, unreachable');
	t.regex(oneByOne, /2 ok/);

	await server.keys('Escape');
	await screenWith('Filter (/): site=london');
	await server.keys('Escape');
	await screenWith('6 of 6 agents');
	// The same keys in one send-keys: one write to the terminal.
	await server.keys('/site=london', 'Enter', 'r', 'Enter', 'Enter', 'Enter');
	const burst = await screenWith('f rerun failed');
	t.is(comparable(burst), comparable(oneByOne), 'a burst of keys gives the same screen as the keys one by one');

	// A pairing code pasted with its Enter approves.
	await server.keys('Escape');
	await screenWith('Filter (/): site=london');
	await server.keys('p');
	const listening = await screenWith('Listening on');
	const address = /Listening on (127\.0\.0\.1:\d+)/.exec(listening)![1]!;
	const agentHome = join(demoDirectory, '..', 'web9');
	const agentEnv = {...process.env, XI_EXEC_AGENT_HOME: agentHome};
	await run(process.execPath, [agentCli, 'init', '--name', 'web9', '--listen', '127.0.0.1:1', '--tag', 'site=london'], {env: agentEnv});
	const caSha256 = (await run(process.execPath, [cli, 'ca', 'fingerprint', '--home', join(demoDirectory, 'controller')], {encoding: 'utf8'})).stdout.trim();
	const pairing = spawn(process.execPath, [agentCli, 'pair', '--controller', address, '--ca-sha256', caSha256, '--json'], {env: agentEnv, stdio: ['ignore', 'pipe', 'pipe']});
	const paired = new Promise<number | null>(resolve => pairing.once('exit', resolve));
	let code: string | undefined;
	for await (const line of createInterface({input: pairing.stdout})) {
		const event = JSON.parse(line) as {event: string; code?: string};
		if (event.event === 'code') {
			code = event.code;
			break;
		}
	}

	t.truthy(code, 'the agent showed its code');
	await screenWith('1 pending request');
	await server.keys(code!, 'Enter');
	// "approved" shows only until the agent confirms (at once with --ca-sha256), then the screen says it is paired.
	await screenWith('is paired and in the registry');
	t.is(await paired, 0, 'the agent paired');

	await server.keys('Escape');
	await screenWith('fleet');
	await server.keys('q');
	await exited();
	t.is(readFileSync(exitStatus, 'utf8'), '0\n', 'the demo exited with status 0');
	t.regex(sttyAfter(), cookedMode, 'the terminal is back in the shell\'s mode');
	t.deepEqual(processesUnder(demoDirectory, [tmuxPid]), [], 'no process the demo started is left running');
	t.false(existsSync(demoDirectory), 'the demo removed its directory');
});

for (const [how, status] of [['kill -INT', 130], ['kill -TERM', 143], ['tmux kill-session', undefined]] as const) {
	(missing ? test.skip : test)(`${how} of the console leaves no process of the demo and no demo directory${status ? `, exit status ${status}` : ''}`, async t => {
		t.timeout(300_000);
		const {server, base, tmuxPid, demoDirectory, exitStatus, consolePid, exited} = await startDemo(t);
		t.true(processesUnder(demoDirectory, [tmuxPid]).length >= 6, 'the demo\'s agents run');
		if (status === undefined) {
			await server.tmux('kill-session', '-t', 'demo');
		} else {
			process.kill(consolePid(), how === 'kill -INT' ? 'SIGINT' : 'SIGTERM');
			await exited();
			t.is(readFileSync(exitStatus, 'utf8'), `${status}\n`);
		}

		await waitFor('every process of the demo to exit and its directory to go', async () => (processesUnder(base, [tmuxPid]).length === 0 && !existsSync(demoDirectory) ? true : undefined), async () => `still running: ${JSON.stringify(processesUnder(base, [tmuxPid]))}; directory there: ${existsSync(demoDirectory)}`, 60_000);
		t.pass();
	});
}
