/**
 * Run control over ten real agents through the real CLI: a failure threshold, a canary, cancel by
 * Ctrl-C and by `xi-exec cancel ID` (nothing left behind on any agent), a rerun of the failed and
 * unreachable hosts after new hosts joined, grouped output, history surviving a controller killed
 * mid-run, and the blast-radius refusals (`maxTargets`, `confirm`). One fleet, tests in series.
 */
import {spawn, spawnSync} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths} from '../../source/home.js';
import {agentPaths} from '../../agent/home.js';
import {allowScript} from '../../agent/commands.js';
import {detectRunCgroups, runCgroupOwner} from '../../agent/run-cgroup.js';
import {
	controllerCli,
	createController,
	enrolAgent,
	freePort,
	installFixture,
	installScript,
	logEvents,
	runCli,
	spawnCli,
	startAgent,
	waitFor,
	type RunningAgent,
	type TestAgent,
} from '../helpers/fleet.js';

type Fleet = {controllerHome: string; agents: Record<string, TestAgent>; running: Record<string, RunningAgent>};

const names = Array.from({length: 10}, (_, index) => `web${String(index + 1).padStart(2, '0')}`);
const stops: Array<() => Promise<void>> = [];

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

/** What each script does on each host: the same file everywhere, except where a host differs. */
function scriptsFor(name: string, shared: Record<string, string>): Record<string, string> {
	const disk = name === 'web09' ? 'echo "disk full"; exit 1' : (name === 'web10' ? 'echo "disk at 95%"' : 'echo "disk ok"   ');
	const flaky = name === 'web02' || name === 'web04' ? 'echo "broken on $XI_EXEC_SCRIPT" >&2; exit 3' : 'echo fine';
	return {
		...shared,
		disk: installScript('disk', `#!/bin/sh\n${disk}\n`),
		flaky: installScript('flaky', `#!/bin/sh\n${flaky}\n`),
	};
}

/** A child that leaves the process group with setsid, ignores SIGTERM and holds stdout; the script ignores SIGTERM too. */
const escapeScript = `#!/bin/sh
setsid sh -c 'trap "" TERM; echo "escapee $$"; exec sleep 300' &
trap '' TERM
echo "script $$"
wait
`;

let fleetPromise: Promise<Fleet> | undefined;
async function fleet(): Promise<Fleet> {
	fleetPromise ??= (async () => {
		const controllerHome = await createController();
		const shared = {
			hello: installFixture('hello.sh'),
			'keep-going': installFixture('leave-grandchild.sh'),
			'sleep-long': installFixture('sleep-long.sh'),
			escape: installScript('escape', escapeScript),
		};
		const limited = installFixture('hello.sh');
		const agents: Record<string, TestAgent> = {};
		for (const name of names) {
			agents[name] = await enrolAgent(controllerHome, {name, port: freePort(), tags: ['role=web'], scripts: scriptsFor(name, shared)});
			// Blast radius: `limited` may reach 3 hosts at once (set on web05 only), `guarded` asks for confirmation (web06, web07).
			allowScript(agentPaths(agents[name]!.home), 'limited', limited, {description: 'limited', ...(name === 'web05' ? {maxTargets: 3} : {})});
			allowScript(agentPaths(agents[name]!.home), 'guarded', limited, {description: 'guarded', ...(name === 'web06' || name === 'web07' ? {confirm: true} : {})});
		}

		const running: Record<string, RunningAgent> = {};
		await Promise.all(names.map(async name => {
			running[name] = await startAgent(agents[name]!);
			stops.push(running[name]!.stop);
		}));
		return {controllerHome, agents, running};
	})();
	return fleetPromise;
}

type RunJson = {requestId: string; results: Array<{agent: string; status: string; stdout: string; stderr: string; exitCode: number | null; reason: string | null}>; groups?: Array<{agents: string[]; folded: string; status: string; exitCode: number | null; stdout: string; stderr: string}>};

const cli = async (home: string, args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: home});
const statusesOf = (document: RunJson) => Object.fromEntries(document.results.map(result => [result.agent, result.status]));
const records = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
const controllerAudit = (home: string) => records(controllerPaths(home).auditLog);
const agentAudit = (agent: TestAgent) => records(agentPaths(agent.home).auditLog);

test.serial('--batch 1 --max-failures 1: the run stops after the second failure; exact counts of ok, failed, skipped', async t => {
	const {controllerHome} = await fleet();
	const result = await cli(controllerHome, ['run', 'flaky', '--on', 'all', '--batch', '1', '--max-failures', '1', '--json']);
	t.is(result.code, 1, result.stderr);
	const document = JSON.parse(result.stdout) as RunJson;
	// web01 ok, web02 failed (1, not over 1), web03 ok, web04 failed (2, over 1): nothing else starts.
	t.deepEqual(statusesOf(document), {
		web01: 'ok', web02: 'failed', web03: 'ok', web04: 'failed',
		web05: 'skipped', web06: 'skipped', web07: 'skipped', web08: 'skipped', web09: 'skipped', web10: 'skipped',
	});
	t.is(document.results.find(each => each.agent === 'web05')?.reason, 'not started: 2 failures, over --max-failures 1');
	const plain = await cli(controllerHome, ['run', 'flaky', '--on', 'all', '--batch', '1', '--max-failures', '1']);
	t.is(plain.code, 1);
	t.regex(plain.stdout.trim().split('\n').at(-1)!, /^2 ok · 2 failed · 6 skipped {3}request [\da-f-]{36}$/);
});

test.serial('--canary 2 without a terminal and without --yes: the canary runs, every other host is skipped', async t => {
	const {controllerHome, running} = await fleet();
	const before = Object.fromEntries(names.map(name => [name, running[name]!.lines.length]));
	const result = await cli(controllerHome, ['run', 'hello', '--on', 'all', '--canary', '2', '--json']);
	t.is(result.code, 1, result.stderr);
	t.is(result.stderr, 'xi-exec: the 2 canary hosts are ok; without a terminal, pass --yes to go on automatically. Stopping here.\n');
	const document = JSON.parse(result.stdout) as RunJson;
	t.deepEqual(Object.values(statusesOf(document)), ['ok', 'ok', ...Array.from({length: 8}, () => 'skipped')]);
	t.true(document.results.slice(2).every(each => each.reason === 'not started: the canary was not approved'));
	for (const name of names.slice(2)) {
		t.deepEqual(logEvents(running[name]!, 'request.received', before[name]), [], `${name} was never asked`);
	}

	const approved = await cli(controllerHome, ['run', 'hello', '--on', 'all', '--canary', '2', '--yes', '--json']);
	t.is(approved.code, 0, approved.stderr);
	t.true((JSON.parse(approved.stdout) as RunJson).results.every(each => each.status === 'ok'));
});

/** Pids that are still alive (a zombie awaiting its reaper is not). */
function alive(pids: readonly number[]): number[] {
	return pids.filter(pid => {
		try {
			return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
		} catch {
			return false;
		}
	});
}

/** Processes anywhere on this host whose environment carries the request id (every script's does). */
function processesOfRun(requestId: string): number[] {
	const found: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) {
			continue;
		}

		try {
			if (readFileSync(join('/proc', entry, 'environ'), 'latin1').split('\0').includes(`XI_EXEC_REQUEST_ID=${requestId}`) && alive([Number(entry)]).length > 0) {
				found.push(Number(entry));
			}
		} catch {
			// Gone, or not ours to read.
		}
	}

	return found;
}

/** Starts `keep-going` (a script and a grandchild, both ignoring SIGTERM) on three hosts and waits until all six processes print their pid. */
async function startKeepGoing(controllerHome: string) {
	const run = spawnCli(controllerCli, ['run', 'keep-going', '--on', 'web01', '--on', 'web02', '--on', 'web03'], {XI_EXEC_HOME: controllerHome});
	const pids = await waitFor(() => {
		const found = [...run.output().stdout.matchAll(/(?:script|grandchild) (\d+)/g)].map(match => Number(match[1]));
		return found.length === 6 ? found : undefined;
	}, 'the scripts and grandchildren on three agents', {state: () => run.output()});
	const requestId = await newestRun(controllerHome);
	assertRunning(pids, requestId);
	return {run, pids, requestId};
}

/** The request id of the newest run in the history (written as soon as a run starts). */
async function newestRun(controllerHome: string): Promise<string> {
	const listed = JSON.parse((await cli(controllerHome, ['runs', '--json'])).stdout) as {runs: Array<{requestId: string}>};
	return listed.runs[0]!.requestId;
}

function assertRunning(pids: number[], requestId: string): void {
	if (alive(pids).length !== 6 || processesOfRun(requestId).length < 6) {
		throw new Error(`expected six live processes of ${requestId}: ${JSON.stringify({pids, alive: alive(pids), tagged: processesOfRun(requestId)})}`);
	}
}

for (const how of ['Ctrl-C (SIGINT to the CLI)', '`xi-exec cancel ID` from another process'] as const) {
	test.serial(`${how}: every script and grandchild is gone from every agent, the hosts end cancelled, both audit trails name who cancelled`, async t => {
		const {controllerHome, agents} = await fleet();
		const {run, pids, requestId} = await startKeepGoing(controllerHome);
		let cancelled;
		if (how.startsWith('Ctrl-C')) {
			run.child.kill('SIGINT');
		} else {
			cancelled = await cli(controllerHome, ['cancel', requestId]);
		}

		const result = await run.done;
		t.is(result.code, how.startsWith('Ctrl-C') ? 130 : 1, result.stderr);
		if (cancelled) {
			t.is(cancelled.code, 0, cancelled.stderr);
			t.deepEqual(cancelled.stdout.trim().split('\n').sort(), ['web01: cancelled', 'web02: cancelled', 'web03: cancelled']);
		} else {
			t.is(result.stderr, 'Cancelling the run on every agent (Ctrl-C again to leave at once)...\n');
		}

		// The agents answered only once the whole group was dead: nothing of the run is left.
		t.deepEqual(alive(pids), []);
		t.deepEqual(processesOfRun(requestId), []);
		t.regex(result.stdout.trim().split('\n').at(-1)!, /^3 cancelled {3}request /, result.stdout);
		const shown = await cli(controllerHome, ['runs', 'show', requestId, '--json']);
		t.deepEqual(statusesOf(JSON.parse(shown.stdout) as RunJson), {web01: 'cancelled', web02: 'cancelled', web03: 'cancelled'});

		const cancels = controllerAudit(controllerHome).filter(record => record['event'] === 'run.cancel' && record['requestId'] === requestId);
		t.is(cancels.length, 1, JSON.stringify(cancels));
		t.regex(String(cancels[0]!['caller']), /^.+@.+$/);
		t.deepEqual([...(cancels[0]!['stillRunning'] as string[])].sort(), ['web01', 'web02', 'web03']);
		for (const name of ['web01', 'web02', 'web03']) {
			const own = agentAudit(agents[name]!).filter(record => record['requestId'] === requestId);
			const cancel = own.find(record => record['event'] === 'cancel');
			t.is(cancel?.['caller'], cancels[0]!['caller'], `${name} records who cancelled`);
			t.is(cancel?.['found'], true);
			const finish = own.find(record => record['event'] === 'run.finish');
			t.is(finish?.['status'], 'cancelled');
			t.is(finish?.['cancelledBy'], cancels[0]!['caller']);
		}
	});
}

test.serial('--idle-timeout and --run-timeout: the hosts end timeout saying which fired, nothing is left behind, and the agents record the timeout', async t => {
	const {controllerHome, agents} = await fleet();
	for (const [flag, reason] of [['--idle-timeout', 'no output for 2 s (--idle-timeout)'], ['--run-timeout', 'the run\'s --run-timeout (2 s) fired']] as const) {
		const result = await cli(controllerHome, ['run', 'keep-going', '--on', 'web01', '--on', 'web02', flag, '2', '--json']);
		t.is(result.code, 1, result.stderr);
		const document = JSON.parse(result.stdout) as RunJson;
		t.deepEqual(document.results.map(each => [each.agent, each.status, each.reason]).sort(), [['web01', 'timeout', reason], ['web02', 'timeout', reason]]);
		const pids = [...document.results.map(each => each.stdout).join('').matchAll(/(?:script|grandchild) (\d+)/g)].map(match => Number(match[1]));
		t.is(pids.length, 4, 'both hosts had started the script and its grandchild');
		t.deepEqual(alive(pids), []);
		t.deepEqual(processesOfRun(document.requestId), []);
		const finish = agentAudit(agents['web01']!).find(record => record['event'] === 'run.finish' && record['requestId'] === document.requestId);
		t.regex(String(finish?.['cancelledBy']), new RegExp(`^.+@.+ \\(${flag}\\)$`));
	}
});

test.serial('--group on ten hosts, eight printing the same line: one group of eight, then the odd ones out (plain and --json)', async t => {
	const {controllerHome} = await fleet();
	const plain = await cli(controllerHome, ['run', 'disk', '--on', 'all', '--group']);
	t.is(plain.code, 1, plain.stderr);
	const lines = plain.stdout.trim().split('\n');
	t.deepEqual(lines.slice(0, -1), [
		'web[01-08] (8) = ok',
		'  | disk ok',
		'web09 (1) = failed (exit 1)',
		'  | disk full',
		'web10 (1) = ok',
		'  | disk at 95%',
	], plain.stdout);
	t.regex(lines.at(-1)!, /^9 ok · 1 failed {3}request [\da-f-]{36}$/);

	const json = await cli(controllerHome, ['run', 'disk', '--on', 'all', '--group', '--json']);
	const document = JSON.parse(json.stdout) as RunJson;
	t.is(document.results.length, 10);
	t.deepEqual(document.groups?.map(group => ({agents: group.agents, folded: group.folded, status: group.status, exitCode: group.exitCode, stdout: group.stdout})), [
		{agents: names.slice(0, 8), folded: 'web[01-08]', status: 'ok', exitCode: 0, stdout: 'disk ok'},
		{agents: ['web09'], folded: 'web09', status: 'failed', exitCode: 1, stdout: 'disk full'},
		{agents: ['web10'], folded: 'web10', status: 'ok', exitCode: 0, stdout: 'disk at 95%'},
	]);
});

test.serial('history survives a controller SIGKILLed mid-run: `runs show ID` reads the partial record', async t => {
	const {controllerHome, running} = await fleet();
	const run = spawnCli(controllerCli, ['run', 'sleep-long', '--on', 'web01', '--on', 'web02'], {XI_EXEC_HOME: controllerHome});
	await waitFor(() => ((run.output().stdout.match(/started \d+/g)?.length ?? 0) === 2 ? true : undefined), 'both hosts started', {state: () => run.output()});
	const requestId = await newestRun(controllerHome);
	run.child.kill('SIGKILL');
	await run.done;

	const shown = await cli(controllerHome, ['runs', 'show', requestId, '--json']);
	t.is(shown.code, 0, shown.stderr);
	const document = JSON.parse(shown.stdout) as RunJson;
	t.deepEqual(document.results.map(each => [each.agent, each.status, each.stdout.replace(/\d+/, 'PID')]), [['web01', 'error', 'started PID\n'], ['web02', 'error', 'started PID\n']]);
	t.is(document.results[0]!.reason, 'no result was recorded: the controller stopped before this host answered');
	const listed = JSON.parse((await cli(controllerHome, ['runs', '--json'])).stdout) as {runs: Array<{requestId: string; endedAt: string | null}>};
	t.is(listed.runs.find(each => each.requestId === requestId)?.endedAt, null);
	const plain = await cli(controllerHome, ['runs']);
	t.true(plain.stdout.split('\n').some(line => line.includes(requestId) && line.endsWith('(incomplete)')), plain.stdout);

	// The agents lost their controller: they cancel the script (nothing is left of the run).
	for (const name of ['web01', 'web02']) {
		await waitFor(() => logEvents(running[name]!, 'run.finish').find(entry => entry['requestId'] === requestId), `${name} ends the orphaned run`);
	}

	t.deepEqual(processesOfRun(requestId), []);
});

test.serial('a rerun targets exactly the failed and unreachable hosts of the earlier run, not the hosts that joined since', async t => {
	const {controllerHome, agents, running} = await fleet();
	await running['web03']!.stop();
	const first = await cli(controllerHome, ['run', 'flaky', '--on', 'role=web', '--json']);
	t.is(first.code, 1);
	const earlier = JSON.parse(first.stdout) as RunJson;
	t.deepEqual(Object.entries(statusesOf(earlier)).filter(([, status]) => status !== 'ok').sort(), [['web02', 'failed'], ['web03', 'unreachable'], ['web04', 'failed']]);

	// Since then: web03 is back, and a new host with the same tags joined.
	running['web03'] = await startAgent(agents['web03']!);
	stops.push(running['web03'].stop);
	const joined = await enrolAgent(controllerHome, {name: 'web11', port: freePort(), tags: ['role=web'], scripts: {flaky: installScript('flaky', '#!/bin/sh\necho fine\n')}});
	const web11 = await startAgent(joined);
	stops.push(web11.stop);

	const rerun = await cli(controllerHome, ['run', '--rerun', earlier.requestId, '--only', 'failed,unreachable', '--json']);
	t.is(rerun.code, 1, rerun.stderr);
	t.deepEqual(statusesOf(JSON.parse(rerun.stdout) as RunJson), {web02: 'failed', web03: 'ok', web04: 'failed'});
	t.deepEqual(logEvents(web11, 'request.received'), [], 'the host that joined since is not asked');

	const only = await cli(controllerHome, ['run', '--rerun', earlier.requestId, '--only', 'unreachable', '--json']);
	t.is(only.code, 0, only.stderr);
	t.deepEqual(statusesOf(JSON.parse(only.stdout) as RunJson), {web03: 'ok'});
});

test.serial('maxTargets: a run beyond it is refused before anything runs (exit 2, naming the limit and the agent); batched within it, it runs', async t => {
	const {controllerHome, running} = await fleet();
	const before = Object.fromEntries(names.map(name => [name, running[name]!.lines.length]));
	const refused = await cli(controllerHome, ['run', 'limited', '--on', 'web01', '--on', 'web02', '--on', 'web03', '--on', 'web04', '--on', 'web05']);
	t.is(refused.code, 2);
	t.is(refused.stdout, '');
	t.is(refused.stderr, 'xi-exec: Refused before running anything: limited allows at most 3 targets at once (maxTargets in its allowlist entry on agent web05) and this run has 5: narrow --on, or roll out with --batch 3 or less. (TOO_MANY_TARGETS)\n');
	const tooWide = await cli(controllerHome, ['run', 'limited', '--on', 'web01', '--on', 'web02', '--on', 'web03', '--on', 'web04', '--on', 'web05', '--batch', '4']);
	t.is(tooWide.code, 2);
	t.is(tooWide.stderr, 'xi-exec: Refused before running anything: limited allows at most 3 targets at once (maxTargets in its allowlist entry on agent web05) and this run has 5; --batch runs 4 at once: narrow --on, or roll out with --batch 3 or less. (TOO_MANY_TARGETS)\n');
	for (const name of names) {
		t.deepEqual(logEvents(running[name]!, 'request.received', before[name]), [], `${name} was never asked to run`);
	}

	const refusals = controllerAudit(controllerHome).filter(record => record['event'] === 'run.refused' && record['script'] === 'limited');
	t.is(refusals.length, 2);
	t.is(refusals[0]!['reason'], 'Refused before running anything: limited allows at most 3 targets at once (maxTargets in its allowlist entry on agent web05) and this run has 5: narrow --on, or roll out with --batch 3 or less.');

	const batched = await cli(controllerHome, ['run', 'limited', '--on', 'web01', '--on', 'web02', '--on', 'web03', '--on', 'web04', '--on', 'web05', '--batch', '3', '--json']);
	t.is(batched.code, 0, batched.stderr);
	t.is((JSON.parse(batched.stdout) as RunJson).results.length, 5);
	const within = await cli(controllerHome, ['run', 'limited', '--on', 'web04', '--on', 'web05', '--on', 'web06']);
	t.is(within.code, 0, within.stderr);
});

test.serial('confirm: without --yes and without a terminal the run is refused (exit 2, saying to pass --yes); with --yes it runs', async t => {
	const {controllerHome, running} = await fleet();
	const before = Object.fromEntries(names.map(name => [name, running[name]!.lines.length]));
	const refused = await cli(controllerHome, ['run', 'guarded', '--on', 'web01', '--on', 'web06', '--on', 'web07']);
	t.is(refused.code, 2);
	t.is(refused.stderr, 'xi-exec: Refused before running anything: guarded asks for confirmation (confirm: true in its allowlist entry on agents web[06-07]): pass --yes ("yes": true over the REST API) to run it on 3 targets. (TOO_MANY_TARGETS)\n');
	for (const name of names) {
		t.deepEqual(logEvents(running[name]!, 'request.received', before[name]), [], `${name} was never asked to run`);
	}

	const confirmed = await cli(controllerHome, ['run', 'guarded', '--on', 'web01', '--on', 'web06', '--yes']);
	t.is(confirmed.code, 0, confirmed.stderr);
	const elsewhere = await cli(controllerHome, ['run', 'guarded', '--on', 'web01', '--on', 'web02']);
	t.is(elsewhere.code, 0, 'only the targets\' own entries count');
});

/**
 * `xi-exec ARGS` in a terminal (a pseudo-terminal from util-linux `script`), answering `answer`
 * once `prompt` shows; resolves with everything the terminal showed and the exit status.
 */
async function inTerminal(home: string, args: string[], prompt: string, answer: string): Promise<{code: number | null; screen: string}> {
	const command = [process.execPath, controllerCli, ...args].map(word => `'${word.replaceAll('\'', '\'\\\'\'')}'`).join(' ');
	const child = spawn('script', ['-qec', command, '/dev/null'], {env: {...process.env, XI_EXEC_HOME: home}, stdio: ['pipe', 'pipe', 'pipe']});
	let screen = '';
	let answered = false;
	const collect = (chunk: Buffer) => {
		screen += chunk.toString();
		if (!answered && screen.includes(prompt)) {
			answered = true;
			child.stdin.write(`${answer}\n`);
		}
	};

	child.stdout.on('data', collect);
	child.stderr.on('data', collect);
	const code = await new Promise<number | null>(resolve => child.on('close', resolve));
	return {code, screen: screen.replaceAll('\r\n', '\n')};
}

const hasScript = spawnSync('script', ['--version']).status === 0;
const terminalTest = hasScript ? test.serial : test.serial.skip;
if (!hasScript) {
	console.log('run-control: skipping the terminal tests: util-linux `script` is not installed');
}

terminalTest('in a terminal: a confirm script runs once the number of targets is typed, and is refused on any other answer', async t => {
	const {controllerHome} = await fleet();
	const question = 'guarded asks for confirmation (confirm: true on agents web[06-07]). Type 3 (the number of targets) to run it: ';
	const typed = await inTerminal(controllerHome, ['run', 'guarded', '--on', 'web01', '--on', 'web06', '--on', 'web07'], question, '3');
	t.is(typed.code, 0, typed.screen);
	t.regex(typed.screen, /^3 ok {3}request /m);
	const wrong = await inTerminal(controllerHome, ['run', 'guarded', '--on', 'web01', '--on', 'web06', '--on', 'web07'], question, 'y');
	t.is(wrong.code, 2, wrong.screen);
	t.true(wrong.screen.includes('xi-exec: Refused before running anything: guarded was not confirmed (type 3, the number of targets, or pass --yes). (TOO_MANY_TARGETS)\n'), wrong.screen);
});

terminalTest('in a terminal: a canary answered "n" stops the run after the canary hosts', async t => {
	const {controllerHome} = await fleet();
	const refused = await inTerminal(controllerHome, ['run', 'hello', '--on', 'web01', '--on', 'web02', '--on', 'web03', '--on', 'web04', '--canary', '1'], 'The 1 canary host is ok. Run on the other 3? [y/N] ', 'n');
	t.is(refused.code, 1, refused.screen);
	t.regex(refused.screen, /^1 ok · 3 skipped {3}request /m);
	const approved = await inTerminal(controllerHome, ['run', 'hello', '--on', 'web01', '--on', 'web02', '--on', 'web03', '--on', 'web04', '--canary', '1'], 'The 1 canary host is ok. Run on the other 3? [y/N] ', 'y');
	t.is(approved.code, 0, approved.screen);
	t.regex(approved.screen, /^4 ok {3}request /m);
});

// The agents here are started by this test process, as the same user: root on cgroup v2 or not.
const detected = detectRunCgroups(runCgroupOwner('run-control-test', import.meta.filename));
const cgroups = 'create' in detected ? detected : undefined;
const cgroupTest = cgroups ? test.serial : test.serial.skip;
if ('problem' in detected) {
	console.log(`run-control: skipping the cgroup kill test: ${detected.problem} (the agent needs root and a writable cgroup v2 hierarchy)`);
}

cgroupTest('root on cgroup v2: a script\'s child that calls setsid and ignores SIGTERM is gone after cancel, and so is the run\'s cgroup', async t => {
	const {controllerHome, running} = await fleet();
	t.log(logEvents(running['web01']!, 'listening')[0]?.['kill']);
	t.regex(String(logEvents(running['web01']!, 'listening')[0]?.['kill']), /^cgroup v2 under \/.+ \(cgroup\.kill\)$/);
	const run = spawnCli(controllerCli, ['run', 'escape', '--on', 'web01', '--on', 'web02'], {XI_EXEC_HOME: controllerHome});
	const pids = await waitFor(() => {
		const found = [...run.output().stdout.matchAll(/(?:script|escapee) (\d+)/g)].map(match => Number(match[1]));
		return found.length === 4 ? found : undefined;
	}, 'the scripts and their escapees on two agents', {state: () => run.output()});
	const requestId = await newestRun(controllerHome);
	// The escapee really left the script's process group and session.
	const escapees = [...run.output().stdout.matchAll(/escapee (\d+)/g)].map(match => Number(match[1]));
	for (const pid of escapees) {
		const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
		t.is(Number(fields[3]), pid, 'the escapee leads its own session');
	}

	const escapeeCgroup = readFileSync(`/proc/${escapees[0]}/cgroup`, 'utf8');
	t.regex(escapeeCgroup, new RegExp(`^0::/.*xi-exec-[0-9a-f]{12}-\\d+-${requestId}-[0-9a-f]{8}$`, 'm'), 'the escapee is in the run\'s cgroup');
	const cancelled = await cli(controllerHome, ['cancel', requestId]);
	t.is(cancelled.code, 0, cancelled.stderr);
	const result = await run.done;
	t.is(result.code, 1);
	t.deepEqual(alive(pids), []);
	t.deepEqual(processesOfRun(requestId), []);
	t.deepEqual(statusesOf(JSON.parse((await cli(controllerHome, ['runs', 'show', requestId, '--json'])).stdout) as RunJson), {web01: 'cancelled', web02: 'cancelled'});
	const directory = cgroups!.create('check')!;
	const parent = join(directory.path, '..');
	await directory.remove();
	t.deepEqual(readdirSync(parent).filter(name => name.includes(requestId)), [], 'the run cgroups are removed');
});

cgroupTest('root on cgroup v2: an agent SIGKILLed mid-run leaves its script running; started again, it kills it (cgroups.reaped)', async t => {
	const {controllerHome, agents, running} = await fleet();
	const run = spawnCli(controllerCli, ['run', 'sleep-long', '--on', 'web08'], {XI_EXEC_HOME: controllerHome});
	const pid = await waitFor(() => /started (\d+)/.exec(run.output().stdout)?.[1], 'the script started', {state: () => run.output()});
	const killed = new Promise(resolve => running['web08']!.process.once('exit', resolve));
	running['web08']!.process.kill('SIGKILL');
	await killed;
	await run.done;
	t.deepEqual(alive([Number(pid)]), [Number(pid)], 'the script outlives its agent');
	running['web08'] = await startAgent(agents['web08']!);
	stops.push(running['web08'].stop);
	const reaped = logEvents(running['web08'], 'cgroups.reaped');
	t.is(reaped.length, 1, running['web08'].lines.join('\n'));
	t.true((reaped[0]?.['cgroups'] as string[]).some(name => /^xi-exec-[\da-f]{12}-\d+-[\da-f-]{36}-[\da-f]{8}$/.test(name)));
	await waitFor(() => (alive([Number(pid)]).length === 0 ? true : undefined), 'the orphaned script to die');
	t.deepEqual(alive([Number(pid)]), []);
});
