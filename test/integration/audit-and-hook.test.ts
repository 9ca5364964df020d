/**
 * Both audit trails and the auth hook over real agent processes: a run leaves records on both
 * sides under one request id that verify alone and against each other (--cross); the reference
 * local policy hook allows a read-only flag and denies --force on the same script, with the
 * reason in the result and in the agent's log; a hook that crashes or hangs denies.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, repoRoot, runCli, startAgent} from '../helpers/fleet.js';

const echoArgs = '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n';

function setHook(home: string, hook: string, timeoutMs = 5000, hookInterpreter?: string): void {
	const paths = agentPaths(home);
	const config = JSON.parse(readFileSync(paths.config, 'utf8')) as Record<string, unknown>;
	writeFileSync(paths.config, JSON.stringify({...config, hook, hookTimeoutMs: timeoutMs, ...(hookInterpreter ? {hookInterpreter} : {})}));
}

test('a run leaves chained records on both sides that verify alone and against each other', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'audit1', port: freePort(), scripts: {'echo-args': installScript('echo-args', echoArgs)}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller};
	const run = await runCli(controllerCli, ['run', 'echo-args', '--on', 'audit1', '--json', '--', 'a\nb', '\u001b[31m'], env);
	t.is(run.code, 0, run.stderr);
	const {requestId} = JSON.parse(run.stdout) as {requestId: string};
	await running.stop();

	const agentLog = agentPaths(agent.home).auditLog;
	const agentRecords = readFileSync(agentLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(agentRecords.filter(record => record['requestId'] === requestId).map(record => record['event']), ['request.received', 'decision', 'run.start', 'run.finish']);
	const received = agentRecords.find(record => record['event'] === 'request.received')!;
	t.truthy(received['controllerHead'], 'the agent records the controller\'s signed head as its witness');

	const agentVerify = await runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(agentVerify.code, 0, agentVerify.stdout);
	t.regex(agentVerify.stdout, /^ok: \d+ records, chain intact, last checkpoint at \d+$/m);

	const cross = await runCli(controllerCli, ['audit', 'verify', '--cross', agentLog], env);
	t.is(cross.code, 0, cross.stdout);
	t.regex(cross.stdout, /cross: ok, 1 agent log agree with the controller/);
	const outcome = JSON.parse((await runCli(controllerCli, ['audit', '--request', requestId, '--json'], env)).stdout) as {records: Array<Record<string, unknown>>};
	t.deepEqual(outcome.records.map(record => record['event']), ['run.request', 'run.outcome']);
	t.truthy(outcome.records.find(record => record['event'] === 'run.outcome')!['agentHead'], 'the controller records the agent\'s signed head');

	// An execution removed from the agent's log shows in the cross-check.
	const lines = readFileSync(agentLog, 'utf8').trim().split('\n').filter(line => !line.includes('"event":"run.finish"'));
	const copy = join(agent.home, 'tampered.jsonl');
	writeFileSync(copy, lines.join('\n') + '\n');
	const tampered = await runCli(controllerCli, ['audit', 'verify', '--cross', copy], env);
	t.is(tampered.code, 1);
	t.regex(tampered.stdout, new RegExp(`the controller recorded ok on audit1 for request ${requestId}, but audit1's log has 0 executions of it`));
});

test('the reference local policy hook allows a read-only flag and denies --force on the same script', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'policy1', port: freePort(), scripts: {'echo-args': installScript('echo-args', echoArgs)}});
	writeFileSync(join(agent.home, 'policy.json'), JSON.stringify({rules: [
		{name: 'never force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force', '-rf']}},
		{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['echo-args']},
	]}));
	// The reference hook starts with #!/usr/bin/env node: the agent runs it with the node named here.
	setHook(agent.home, join(repoRoot, 'dist/agent/hooks/local-policy.js'), 5000, process.execPath);
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller};
	const cases = [
		{args: ['--dry-run'], status: 'ok', reason: null},
		{args: ['--force'], status: 'denied', reason: 'denied by rule "never force": "--force" (forbidden: --force)'},
		{args: ['--forc'], status: 'denied', reason: 'denied by rule "never force": "--forc" (forbidden: --force)'},
		{args: ['-f', '-r'], status: 'denied', reason: 'denied by rule "never force": -r -f (forbidden: -rf)'},
	];
	for (const {args, status, reason} of cases) {
		const run = await runCli(controllerCli, ['run', 'echo-args', '--on', 'policy1', '--json', '--', ...args], env);
		const [result] = (JSON.parse(run.stdout) as {results: Array<{status: string; reason: string | null}>}).results;
		t.is(result!.status, status, JSON.stringify(args));
		t.is(result!.reason, reason, JSON.stringify(args));
	}

	const decisions = readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['event'] === 'decision');
	t.deepEqual(decisions.map(record => [record['allowed'], record['reason']]), [
		[true, 'allowed by rule "operators"'],
		[false, cases[1]!.reason],
		[false, cases[2]!.reason],
		[false, cases[3]!.reason],
	]);
});

const badHooks = [
	{title: 'crashes', body: '#!/bin/sh\nkill -SEGV $$\n', reason: 'the hook denied it (killed by SIGSEGV)'},
	{title: 'prints garbage', body: '#!/bin/sh\necho "yes please"\n', reason: 'the hook printed something other than one JSON object'},
	{title: 'prints two objects', body: '#!/bin/sh\necho \'{"allow":true}{"allow":true}\'\n', reason: 'the hook printed something other than one JSON object'},
	{title: 'hangs (its grandchild holds stdout)', body: '#!/bin/sh\nsleep 30 &\nsleep 30\n', reason: 'the hook gave no answer within 1 s'},
	{title: 'says allow but exits 1', body: '#!/bin/sh\necho \'{"allow":true}\'\nexit 1\n', reason: 'the hook denied it (exit 1)'},
];

for (const hook of badHooks) {
	test(`a hook that ${hook.title} denies, and the agent keeps serving`, async t => {
		const controller = await createController();
		const agent = await enrolAgent(controller, {name: 'hook1', port: freePort(), scripts: {'echo-args': installScript('echo-args', echoArgs)}});
		setHook(agent.home, installScript('hook', hook.body), 1000);
		const running = await startAgent(agent);
		t.teardown(async () => running.stop());
		const run = await runCli(controllerCli, ['run', 'echo-args', '--on', 'hook1', '--json'], {XI_EXEC_HOME: controller});
		t.is(run.code, 1);
		const [result] = (JSON.parse(run.stdout) as {results: Array<{status: string; reason: string}>}).results;
		t.is(result!.status, 'denied');
		t.is(result!.reason, hook.reason);
		const again = await runCli(controllerCli, ['agents', '--json'], {XI_EXEC_HOME: controller});
		t.is((JSON.parse(again.stdout) as {agents: Array<{status: string}>}).agents[0]!.status, 'reachable');
	});
}
