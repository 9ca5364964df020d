/**
 * An unusable auth hook and a home that turns unsafe, over the real `xi-exec-agent start`:
 *
 * - at start, a hook that is missing, not executable, writable by its group or others, owned by
 *   another user, or `#!/usr/bin/env` without "hookInterpreter", stops the agent with one error
 *   (exit 2, HOOK_UNUSABLE) naming the hook and what is wrong, before its audit log is opened;
 *   the neighbour, a sound hook, starts;
 * - after start, strict modes hold at every use: a file of the home made writable by others (or a
 *   key readable) refuses every run with the exact reason and its audit record, a reload reads
 *   nothing from the unsafe home (logged `reload.refused`), and once fixed the next run runs.
 */
import {randomUUID} from 'node:crypto';
import {chmodSync, chownSync, existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, writeAllowlistFile} from '../../agent/home.js';
import {lookupUser} from '../../agent/users.js';
import {agentCli, controllerCredentials, createController, enrolAgent, freePort, logEvents, rawExchange, requestLine, runCli, startAgent, temporaryDirectory, waitFor, type TestAgent} from '../helpers/fleet.js';

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');
const allowingHook = '#!/bin/sh\ncat > /dev/null\necho \'{"allow": true, "reason": "hook says yes"}\'\n';

/** A file in a fresh 0755 directory. */
function hookFile(body: string, mode = 0o755): string {
	const directory = temporaryDirectory('xi-exec-hook-');
	chmodSync(directory, 0o755);
	const path = join(directory, 'hook');
	writeFileSync(path, body);
	chmodSync(path, mode);
	return path;
}

async function agentWithHook(name: string, hook: string, extra: Record<string, unknown> = {}): Promise<{controller: string; agent: TestAgent}> {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name, port: freePort()});
	const paths = agentPaths(agent.home);
	const script = hookFile('#!/bin/sh\necho hello\n');
	writeAllowlistFile(paths, {scripts: {hello: {path: script, description: 'hello', timeoutSeconds: 30}}});
	writeFileSync(paths.config, JSON.stringify({...JSON.parse(readFileSync(paths.config, 'utf8')) as object, hook, hookTimeoutMs: 30_000, ...extra}), {mode: 0o600});
	return {controller, agent};
}

type StartCase = {title: string; hook: () => string; problem: (hook: string) => string; rootOnly?: boolean; extra?: Record<string, unknown>};

const startCases: StartCase[] = [
	{title: 'a hook that does not exist', hook: () => join(temporaryDirectory('xi-exec-hook-'), 'missing'), problem: hook => `${hook} cannot be opened (ENOENT)`},
	{title: 'a hook that is not executable', hook: () => hookFile(allowingHook, 0o644), problem: hook => `${hook} is not executable`},
	{title: 'a hook writable by its group', hook: () => hookFile(allowingHook, 0o775), problem: hook => `${hook} is writable by its group (mode 775)`},
	{title: 'a hook writable by others', hook: () => hookFile(allowingHook, 0o757), problem: hook => `${hook} is writable by others (mode 757)`},
	{title: 'a hook that finds its interpreter on PATH, none named', hook: () => hookFile('#!/usr/bin/env sh\necho \'{"allow": true}\'\n'), problem: hook => `${hook} starts with #!/usr/bin/env sh, which finds its interpreter on PATH; name it in config.json ("hookInterpreter": "/usr/bin/NAME")`},
	{
		title: 'a hook owned by another user',
		rootOnly: true,
		hook() {
			const hook = hookFile(allowingHook);
			chownSync(hook, nobody!.uid, nobody!.gid);
			return hook;
		},
		problem: hook => `${hook} is owned by uid ${nobody?.uid ?? 65_534}, neither root nor the agent's user (uid 0)`,
	},
];

for (const c of startCases) {
	(c.rootOnly && !(isRoot && nobody) ? test.skip : test)(`at start, ${c.title}: the agent refuses to start with one error, before its audit log is opened`, async t => {
		const hook = c.hook();
		const {agent} = await agentWithHook(`hook-${randomUUID().slice(0, 8)}`, hook, c.extra);
		const paths = agentPaths(agent.home);
		const result = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
		t.is(result.code, 2);
		t.is(result.stderr, `xi-exec-agent: Refusing to start: the auth hook ${hook} cannot be used: ${c.problem(hook)}. Fix it (or remove "hook" from ${paths.config}), then start the agent again. (HOOK_UNUSABLE)\n`);
		t.false(existsSync(paths.auditLog), 'no audit record: the log was never opened');
		t.false(existsSync(paths.pid), 'it never listened');
	});
}

test('at start, the neighbour: a sound hook (0755, the agent\'s own, its interpreter named) starts and is asked', async t => {
	const hook = hookFile(allowingHook);
	const {controller, agent} = await agentWithHook('hook-sound', hook);
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const outcome = await run(controller, agent, 'hello', ['\u001B]52;c;cm0gLXJmIC8=\u0007', 'gnp\u202E.exe', 'a\u2028b']);
	t.like(outcome.result, {status: 'ok'});
	t.like(outcome.records.find(record => record['event'] === 'decision'), {allowed: true, reason: 'hook says yes'});
	// The daemon's own log lines (its stdout) carry the caller's arguments escaped: nothing raw reaches a terminal or journald.
	const received = running.lines.find(line => line.includes('"event":"request.received"'))!;
	t.notRegex(received, /[\u0000-\u001F\u007F-\u009F\u202E\u2028]/);
	t.true(received.includes('"args":["\\u001b]52;c;cm0gLXJmIC8=\\u0007","gnp\\u202e.exe","a\\u2028b"]'), received);
});

/** One run over mutual TLS with the controller's certificate: its result frame and the agent's audit records for it. */
async function run(controller: string, agent: TestAgent, script: string, args: string[] = []) {
	const id = randomUUID();
	const reply = await rawExchange(agent.port, {...controllerCredentials(controller), send: [requestLine({type: 'run', id, script, args, caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result') ?? {};
	const records = readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === id);
	return {result, records};
}

test('after start, strict modes hold at every use: an unsafe home refuses every run and every reload until it is fixed', async t => {
	const {controller, agent} = await agentWithHook('modes-at-use', hookFile(allowingHook));
	const paths = agentPaths(agent.home);
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	t.like((await run(controller, agent, 'hello')).result, {status: 'ok'});

	const cases = [
		{path: paths.config, mode: 0o666, fixed: 0o600, problem: `${paths.config} is writable by its group (mode 666); fix it with \`chmod go-w ${paths.config}\``},
		{path: paths.allowlist, mode: 0o606, fixed: 0o600, problem: `${paths.allowlist} is writable by others (mode 606); fix it with \`chmod go-w ${paths.allowlist}\``},
		{path: agent.home, mode: 0o777, fixed: 0o700, problem: `${agent.home} is writable by its group (mode 777); fix it with \`chmod go-w ${agent.home}\``},
		{path: paths.key, mode: 0o644, fixed: 0o600, problem: `${paths.key} is a private key open to its group (mode 644); fix it with \`chmod 600 ${paths.key}\``},
	];
	for (const c of cases) {
		chmodSync(c.path, c.mode);
		const reason = `refused: the agent's home is unsafe: ${c.problem}; every run is refused until it is fixed`;
		const refused = await run(controller, agent, 'hello');
		t.like(refused.result, {status: 'denied', reason}, c.problem);
		t.deepEqual(refused.records.map(record => record['event']), ['request.received', 'run.refused'], `${c.problem}: nothing decided, nothing ran`);
		t.like(refused.records[1], {event: 'run.refused', status: 'denied', reason, script: 'hello', caller: 'ops'});
		// A reload reads nothing from it.
		const before = logEvents(running, 'reload.refused').length;
		running.process.kill('SIGHUP');
		const logged = await waitFor(() => logEvents(running, 'reload.refused')[before], 'the reload to be refused');
		t.like(logged, {level: 'warn', reason: `${c.problem}; nothing was reloaded and every run is refused until it is fixed`});
		chmodSync(c.path, c.fixed);
		t.like((await run(controller, agent, 'hello')).result, {status: 'ok'}, `${c.problem}: fixed, it runs`);
	}
});
