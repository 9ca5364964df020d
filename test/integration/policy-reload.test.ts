/**
 * policy.json with a key the engine does not know, over a real agent and the reference hook: the
 * agent refuses to start with it (exit 2, the key named, no audit record); a running agent told to
 * reload it keeps the policy it had (the log says why) and the next run is decided by the old
 * policy, as its audit record shows; once fixed and reloaded, the new policy decides.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, logEvents, repoRoot, runCli, startAgent, waitFor} from '../helpers/fleet.js';

const echoArgs = '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n';
const strict = {rules: [
	{name: 'never force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force']}},
	{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['echo-args']},
]};
// "forbid" misplaced on the rule instead of under "args": read leniently, the deny rule would deny
// everything; on an allow rule, allow what it meant to limit.
const misplaced = {rules: [
	{name: 'operators', effect: 'allow', callers: ['*'], scripts: ['echo-args'], forbid: ['--force']},
]};
const misplacedProblem = 'operators: unknown key "forbid" in the rule (it takes "name", "effect", "callers", "scripts", "args", "window", "rate", "approved")';

test('policy.json with a misplaced key: refused at start, and on reload the old policy stays in force', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'policy2', port: freePort(), scripts: {'echo-args': installScript('echo-args', echoArgs)}});
	const paths = agentPaths(agent.home);
	const policy = join(agent.home, 'policy.json');
	const config = JSON.parse(readFileSync(paths.config, 'utf8')) as Record<string, unknown>;
	writeFileSync(paths.config, JSON.stringify({...config, hook: join(repoRoot, 'dist/agent/hooks/local-policy.js'), hookInterpreter: process.execPath, hookTimeoutMs: 30_000}), {mode: 0o600});

	writeFileSync(policy, JSON.stringify(misplaced), {mode: 0o600});
	const refused = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(refused.code, 2);
	t.is(refused.stderr, `xi-exec-agent: Refusing to start: ${policy} is invalid: ${misplacedProblem}. Fix it; the agent checks it again when it starts or reloads (SIGHUP). (CONFIG_INVALID)\n`);
	t.false(existsSync(paths.auditLog), 'no audit record: the agent never opened its log');

	writeFileSync(policy, JSON.stringify(strict), {mode: 0o600});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller};
	const decide = async (args: string[]) => {
		const run = await runCli(controllerCli, ['run', 'echo-args', '--on', 'policy2', '--json', '--', ...args], env);
		const document = JSON.parse(run.stdout) as {requestId: string; results: Array<{status: string; reason: string | null}>};
		const decision = readFileSync(paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).find(record => record['requestId'] === document.requestId && record['event'] === 'decision');
		return {result: document.results[0]!, decision};
	};

	const forceDenied = 'denied by rule "never force": "--force" (forbidden: --force)';
	t.like(await decide(['--force']), {result: {status: 'denied', reason: forceDenied}, decision: {allowed: false, reason: forceDenied}});

	// The misplaced key on a reload: refused, logged, and the old policy still decides.
	writeFileSync(policy, JSON.stringify(misplaced), {mode: 0o600});
	let from = running.lines.length;
	running.process.kill('SIGHUP');
	const failed = await waitFor(() => logEvents(running, 'policy.reload-failed', from)[0], 'the agent to refuse the new policy');
	t.is(failed['reason'], `${policy} is invalid: ${misplacedProblem}; the previous policy stays in force`);
	t.like(await decide(['--force']), {result: {status: 'denied', reason: forceDenied}, decision: {allowed: false, reason: forceDenied}});
	t.like(await decide(['--dry-run']), {result: {status: 'ok'}, decision: {allowed: true, reason: 'allowed by rule "operators"'}});

	// Fixed (the forbid under args, on the allow rule) and reloaded: the new policy decides.
	writeFileSync(policy, JSON.stringify({rules: [{...misplaced.rules[0], forbid: undefined, args: {forbid: ['--force']}}]}), {mode: 0o600});
	from = running.lines.length;
	running.process.kill('SIGHUP');
	await waitFor(() => logEvents(running, 'policy.reloaded', from)[0], 'the agent to take the fixed policy');
	const allowProblem = 'rule "operators" does not allow it: argument "--force" (forbidden: --force)';
	t.like(await decide(['--force']), {result: {status: 'denied', reason: allowProblem}, decision: {allowed: false, reason: allowProblem}});
});
