/**
 * A three-agent fleet through the real CLI: `xi-exec run` and `xi-exec agents` against real
 * `xi-exec-agent start` processes on 127.0.0.1, including an agent killed in the middle of a run.
 * The tests run one at a time, so that a loaded machine does not trip the dispatcher's timeouts.
 */
import test from 'ava';
import {
	controllerCli,
	createController,
	enrolAgent,
	freePort,
	installFixture,
	logEvents,
	runCli,
	spawnCli,
	startAgent,
	waitFor,
	type RunningAgent,
	type TestAgent,
} from '../helpers/fleet.js';

type Fleet = {controllerHome: string; agents: Record<string, TestAgent>; running: Record<string, RunningAgent>};

const members = [
	{name: 'alpha', tags: ['env=prod', 'role=web']},
	{name: 'bravo', tags: ['env=prod', 'role=db']},
	{name: 'charlie', tags: ['env=staging', 'role=web']},
];

const stops: Array<() => Promise<void>> = [];

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

/** A controller and three agents, each with its own home, certificate and port. */
async function startFleet(scriptsFor: (name: string) => Record<string, string>): Promise<Fleet> {
	const controllerHome = await createController();
	const agents: Record<string, TestAgent> = {};
	const running: Record<string, RunningAgent> = {};
	for (const member of members) {
		agents[member.name] = await enrolAgent(controllerHome, {name: member.name, port: freePort(), tags: member.tags, scripts: scriptsFor(member.name)});
	}

	await Promise.all(members.map(async member => {
		running[member.name] = await startAgent(agents[member.name]!);
		stops.push(running[member.name]!.stop);
	}));
	return {controllerHome, agents, running};
}

let shared: Promise<Fleet> | undefined;
/** One fleet for the tests that only read: started once, on first use. */
async function sharedFleet(): Promise<Fleet> {
	shared ??= (async () => {
		const hello = installFixture('hello.sh');
		return startFleet(() => ({hello}));
	})();
	return shared;
}

const resultKeys = ['agent', 'status', 'exitCode', 'signal', 'stdout', 'stderr', 'truncated', 'durationMs', 'reason', 'via'];
const width = Math.max(...members.map(member => member.name.length));
const pad = (name: string) => name.padEnd(width);

test.serial('plain output: every line prefixed by its agent as it arrives, control characters made visible, then one summary line', async t => {
	const fleet = await sharedFleet();
	const result = await runCli(controllerCli, ['run', 'hello', '--on', 'all'], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(result.code, 0, result.stderr + result.stdout);
	t.is(result.stderr, '');
	t.false(result.stdout.includes('\u001B'), 'no escape byte reaches the terminal');

	const lines = result.stdout.split('\n');
	t.is(lines.pop(), '', 'the output ends with a newline');
	t.regex(lines.at(-1) ?? '', /^3 ok {3}request [\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/);
	t.regex(lines.at(-2) ?? '', /^slowest: (alpha|bravo|charlie) \d+(\.\d)? m?s, (alpha|bravo|charlie) \d+(\.\d)? m?s, (alpha|bravo|charlie) \d+(\.\d)? m?s$/);
	const body = lines.slice(0, -2);
	t.is(body.length, 9, result.stdout);
	for (const {name} of members) {
		const own = body.filter(line => line.startsWith(`${pad(name)} `));
		t.is(own.length, 3, `three lines for ${name}`);
		t.is(own[0], `${pad(name)} | hello from hello`);
		t.is(own[1], `${pad(name)} | escape \\x1b[2J here`);
		t.regex(own[2] ?? '', new RegExp(`^${pad(name)} = ok( \\(\\d+(\\.\\d)? m?s\\))?$`));
	}
});

test.serial('--json prints exactly one document with the documented fields, output bytes kept', async t => {
	const fleet = await sharedFleet();
	const result = await runCli(controllerCli, ['run', 'hello', '--on', 'all', '--json', '--', 'an argument'], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(result.code, 0, result.stderr + result.stdout);
	const document = JSON.parse(result.stdout) as {requestId: string; script: string; args: string[]; results: Array<Record<string, unknown>>};
	t.deepEqual(Object.keys(document), ['requestId', 'script', 'args', 'startedAt', 'results', 'endedAt', 'durationMs']);
	t.regex(document.requestId, /^[\da-f-]{36}$/);
	t.is(document.script, 'hello');
	t.deepEqual(document.args, ['an argument']);
	t.deepEqual(document.results.map(entry => entry['agent']).sort(), ['alpha', 'bravo', 'charlie']);
	for (const entry of document.results) {
		t.deepEqual(Object.keys(entry), resultKeys);
		t.like(entry, {status: 'ok', exitCode: 0, signal: null, stdout: 'hello from hello\nescape \u001B[2J here\n', stderr: '', truncated: false, reason: null, via: 'tls'});
		t.true(typeof entry['durationMs'] === 'number' && entry['durationMs'] >= 0);
	}
});

test.serial('--on matching nothing is an error (exit 2), not a silent success', async t => {
	const fleet = await sharedFleet();
	for (const selector of ['env=nowhere', 'zulu', 'env=prod,role=cache']) {
		const result = await runCli(controllerCli, ['run', 'hello', '--on', selector], {XI_EXEC_HOME: fleet.controllerHome});
		t.is(result.code, 2);
		t.is(result.stdout, '');
		t.is(result.stderr, `xi-exec: --on ${selector} matches no registered agent (3 registered; \`xi-exec agents\` lists them). (NO_TARGETS)\n`);
	}
});

test.serial('--dry-run asks the selected agents (tags AND within an --on, OR across them) and runs nothing', async t => {
	const fleet = await sharedFleet();
	const result = await runCli(controllerCli, ['run', 'hello', '--on', 'env=prod,role=web', '--on', 'charlie', '--dry-run'], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(result.code, 0, result.stderr + result.stdout);
	const lines = result.stdout.trimEnd().split('\n');
	t.deepEqual(lines.slice(0, -1), ['AGENT    WOULD RUN  REASON', ...['alpha', 'charlie'].map(name => `${name.padEnd(7)}  yes        allowlisted; no auth hook configured`)]);
	const requestId = /^2 would run, 0 would not \(nothing ran\) {3}request ([\da-f-]{36})$/.exec(lines.at(-1) ?? '')?.[1];
	t.truthy(requestId, lines.at(-1));

	// Other tests use the same fleet at the same time: look at this request only.
	const events = (name: string, event: string) => logEvents(fleet.running[name]!, event).filter(entry => entry.requestId === requestId);
	for (const name of ['alpha', 'charlie']) {
		t.like(events(name, 'decision')[0], {allowed: true, script: 'hello'}, `${name} was asked`);
		t.deepEqual(events(name, 'run.start'), [], `${name} ran nothing`);
	}

	t.deepEqual(events('bravo', 'request.received'), [], 'bravo was not asked');
});

test.serial('an agent killed mid-run ends as unreachable, not a hang; `xi-exec agents` then lists it as unreachable', async t => {
	const quick = installFixture('sleep-then-echo.sh');
	const long = installFixture('sleep-long.sh');
	// The same script name everywhere; on bravo, the one that will be killed, it sleeps far longer.
	const fleet = await startFleet(name => ({work: name === 'bravo' ? long : quick}));
	const run = spawnCli(controllerCli, ['run', 'work', '--on', 'all', '--', '1'], {XI_EXEC_HOME: fleet.controllerHome});
	// The plain output streams: once bravo's first line has reached the controller, kill bravo.
	const orphan = Number(await waitFor(() => new RegExp(`^${pad('bravo')} \\| started (\\d+)$`, 'm').exec(run.output().stdout)?.[1], 'bravo\'s script to start', {state: run.output}));
	t.teardown(() => {
		// The killed agent's script outlives it (its own session and process group): end it.
		try {
			process.kill(-orphan, 'SIGKILL');
		} catch {
			// Already gone.
		}
	});
	fleet.running['bravo']!.process.kill('SIGKILL');

	const result = await run.done;
	t.is(result.code, 1, result.stderr + result.stdout);
	const lines = result.stdout.trimEnd().split('\n');
	t.regex(lines.at(-1) ?? '', /^2 ok · 1 unreachable {3}request [\da-f-]{36}$/);
	const outcome = (name: string) => lines.find(line => line.startsWith(`${pad(name)} = `));
	t.regex(outcome('alpha') ?? '', /= ok/);
	t.regex(outcome('charlie') ?? '', /= ok/);
	t.regex(outcome('bravo') ?? '', /^bravo {3}= unreachable: connection (closed|lost) while the script ran.*; its outcome is unknown( \(\d+(\.\d)? m?s\))?$/);
	for (const name of ['alpha', 'charlie']) {
		t.deepEqual(lines.filter(line => line.startsWith(`${pad(name)} | `)), [`${pad(name)} | started`, `${pad(name)} | done`]);
	}

	const agents = await runCli(controllerCli, ['agents', '--json'], {XI_EXEC_HOME: fleet.controllerHome});
	t.is(agents.code, 0, agents.stderr);
	const listing = JSON.parse(agents.stdout) as {agents: Array<Record<string, unknown>>};
	t.deepEqual(Object.keys(listing), ['agents']);
	t.deepEqual(listing.agents.map(agent => agent['name']), ['alpha', 'bravo', 'charlie']);
	for (const agent of listing.agents) {
		const member = members.find(({name}) => name === agent['name'])!;
		t.like(agent, {
			address: `127.0.0.1:${fleet.agents[member.name]!.port}`,
			tags: Object.fromEntries(member.tags.map(tag => tag.split('='))),
			status: member.name === 'bravo' ? 'unreachable' : 'reachable',
		});
		const scripts = (agent['scripts'] as Array<Record<string, unknown>>).map(({name, description}) => ({name, description}));
		t.deepEqual(scripts, member.name === 'bravo' ? [] : [{name: 'work', description: 'test script work'}]);
	}

	t.is(listing.agents[1]?.['reason'], `connection refused by 127.0.0.1:${fleet.agents['bravo']!.port} (is the agent running?)`);
});
