/**
 * The reference hook's central mode over real processes: `xi-exec serve` answers the policy
 * endpoint, two agents run the reference hook with `"central"` in policy.json. A token works; it
 * is revoked while a run made with it is already on its way (past the controller's own check),
 * and both hosts deny that run with the endpoint's reason, in the result and in their audit logs;
 * the next run with it is refused by the controller. A local rule still denies on its own (both
 * must allow), and with the endpoint stopped every host denies.
 */
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, repoRoot, runCli, spawnCli, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const echoArgs = '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n';
const hook = join(repoRoot, 'dist/agent/hooks/local-policy.js');

type Result = {agent: string; status: string; reason: string | null};
type Records = Array<Record<string, unknown>>;

/** Results come in the order hosts finish; by name here. */
function sorted<T extends {results: Result[]}>(run: T): T {
	return {...run, results: [...run.results].sort((a, b) => a.agent.localeCompare(b.agent))};
}

function agentRecords(agent: TestAgent, requestId: string): Records {
	return readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === requestId);
}

test('central mode: revoked while a run is on its way, every host denies it with the endpoint\'s reason; the endpoint stopped, every host denies', async t => {
	const controller = await createController();
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const serve = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0'], env);
	t.teardown(() => {
		serve.child.kill('SIGTERM');
	});
	const port = await waitFor(() => /Listening on https:\/\/127\.0\.0\.1:(\d+) /.exec(serve.output().stdout)?.[1], 'xi-exec serve to listen', {state: () => serve.output()});

	// A gate in front of the reference hook, so the test can revoke the token while the hooks are
	// being asked: each call leaves a marker and waits for the gate file, then runs the real hook.
	const gates = temporaryDirectory('xi-exec-gate-');
	const gate = join(gates, 'open');
	writeFileSync(gate, '');
	const gated = installScript('gated-hook', `#!/bin/sh\nname=$(basename "$XI_EXEC_AGENT_HOME")\ntouch "${gates}/waiting-$name"\nwhile [ ! -e "${gate}" ]; do sleep 0.05; done\nexec "${process.execPath}" "${hook}"\n`);
	const agents: TestAgent[] = [];
	const running: RunningAgent[] = [];
	for (const name of ['web1', 'web2']) {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'echo-args': installScript('echo-args', echoArgs)}});
		writeFileSync(join(agent.home, 'policy.json'), JSON.stringify({
			rules: [
				{name: 'never force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force']}},
				{name: 'anyone', effect: 'allow', callers: ['*'], scripts: ['echo-args']},
			],
			central: {url: `https://127.0.0.1:${port}`},
		}));
		const config = JSON.parse(readFileSync(agentPaths(agent.home).config, 'utf8')) as Record<string, unknown>;
		writeFileSync(agentPaths(agent.home).config, JSON.stringify({...config, hook: gated, hookTimeoutMs: 60_000}));
		agents.push(agent);
		running.push(await startAgent(agent));
	}

	t.teardown(async () => Promise.all(running.map(async agent => agent.stop())));
	const created = await runCli(controllerCli, ['token', 'create', '--name', 'contractor', '--scripts', 'echo-args', '--on', 'env=production', '--json'], env);
	t.is(created.code, 0, created.stderr);
	const {token, id} = JSON.parse(created.stdout) as {token: string; id: string};
	const run = async (extra: Record<string, string>, args: string[] = ['x']) => {
		const done = await runCli(controllerCli, ['run', 'echo-args', '--on', 'env=production', '--json', '--', ...args], {...env, ...extra});
		const document = done.stdout ? JSON.parse(done.stdout) as {requestId: string; results?: Result[]; error?: {code: string; message: string}} : undefined;
		return {...done, error: document?.error, parsed: document?.results ? sorted(document as {requestId: string; results: Result[]}) : undefined};
	};

	// 1. The token works; both the local rules and the controller allowed it, on both hosts.
	const first = await run({XI_EXEC_TOKEN: token});
	t.is(first.code, 0, first.stderr);
	t.deepEqual(first.parsed!.results.map(result => [result.agent, result.status]), [['web1', 'ok'], ['web2', 'ok']]);
	for (const agent of agents) {
		const [decision] = agentRecords(agent, first.parsed!.requestId).filter(record => record['event'] === 'decision');
		t.is(decision!['reason'], `allowed by rule "anyone"; central policy: token contractor may run echo-args on ${agent.name}`);
	}

	// 2. A run with the token passes the controller's check; while its hooks wait at the gate, the token is revoked.
	rmSync(gate);
	rmSync(join(gates, 'waiting-web1'));
	rmSync(join(gates, 'waiting-web2'));
	const pending = spawnCli(controllerCli, ['run', 'echo-args', '--on', 'env=production', '--json', '--', 'x'], {...env, XI_EXEC_TOKEN: token});
	await waitFor(() => (existsSync(join(gates, 'waiting-web1')) && existsSync(join(gates, 'waiting-web2')) ? true : undefined), 'both hooks to be asked', {state: () => pending.output()});
	const revoked = await runCli(controllerCli, ['token', 'revoke', 'contractor'], env);
	t.is(revoked.code, 0, revoked.stderr);
	writeFileSync(gate, '');
	const afterRevoke = await pending.done;
	t.is(afterRevoke.code, 1, afterRevoke.stderr);
	const denied = sorted(JSON.parse(afterRevoke.stdout) as {requestId: string; results: Result[]});
	const revokedReason = /^central policy: token contractor was revoked at \d{4}-\d\d-\d\dT[\d:.]+Z$/;
	for (const [index, agent] of agents.entries()) {
		const result = denied.results[index]!;
		t.is(result.agent, agent.name);
		t.is(result.status, 'denied');
		t.regex(result.reason ?? '', revokedReason, agent.name);
		const records = agentRecords(agent, denied.requestId);
		t.deepEqual(records.map(record => record['event']), ['request.received', 'decision'], `${agent.name} ran nothing`);
		t.is(records[1]!['allowed'], false);
		t.is(records[1]!['reason'], result.reason, `${agent.name}'s audit log has the endpoint's reason`);
	}

	const controllerAudit = JSON.parse((await runCli(controllerCli, ['audit', '--request', denied.requestId, '--json'], env)).stdout) as {records: Records};
	t.deepEqual(controllerAudit.records.filter(record => record['event'] === 'policy.decision').map(record => [record['agent'], record['allowed'], (record['token'] as {id: string}).id]).sort(), [['web1', false, id], ['web2', false, id]]);

	// 3. The next run with the token never leaves the controller.
	const next = await run({XI_EXEC_TOKEN: token});
	t.is(next.code, 2);
	t.is(next.error?.code, 'TOKEN_INVALID', 'under --json the refusal is a JSON error with its code');
	t.regex(next.error?.message ?? '', /Token refused: .*revoked/);

	// 4. Both must allow: a local deny rule denies without asking the controller.
	const forced = await run({}, ['--force']);
	t.is(forced.code, 1);
	t.deepEqual(forced.parsed!.results.map(result => result.reason), ['denied by rule "never force": "--force" (forbidden: --force)', 'denied by rule "never force": "--force" (forbidden: --force)']);
	const forcedAudit = JSON.parse((await runCli(controllerCli, ['audit', '--request', forced.parsed!.requestId, '--json'], env)).stdout) as {records: Records};
	t.deepEqual(forcedAudit.records.filter(record => record['event'] === 'policy.decision'), [], 'the controller was not asked');

	// 5. An operator's run without a token is allowed centrally; then the endpoint stops and every host denies.
	const operator = await run({});
	t.is(operator.code, 0, operator.stderr);
	const stopped = new Promise(resolve => serve.child.once('exit', resolve));
	serve.child.kill('SIGTERM');
	await stopped;
	const unreachable = await run({});
	t.is(unreachable.code, 1);
	for (const [index, agent] of agents.entries()) {
		const result = unreachable.parsed!.results[index]!;
		t.is(result.status, 'denied');
		t.is(result.reason, 'central policy: the controller\'s policy endpoint cannot be reached (ECONNREFUSED)');
		const decision = agentRecords(agent, unreachable.parsed!.requestId).find(record => record['event'] === 'decision')!;
		t.is(decision['allowed'], false);
		t.is(decision['reason'], result.reason);
	}
});
