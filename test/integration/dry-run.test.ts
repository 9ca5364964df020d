/**
 * `xi-exec run --dry-run` over real agents running the reference policy hook, one of which denies:
 * each hook sees `dryRun: true`, nothing runs, no rate limit is charged (a real run afterwards
 * still has its one slot), and the CLI shows per agent whether it would run and why, in plain
 * text and in --json.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, repoRoot, runCli, startAgent, temporaryDirectory, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const hook = join(repoRoot, 'dist/agent/hooks/local-policy.js');

test('a dry run asks each agent\'s policy, runs nothing, charges no rate limit, and shows each answer', async t => {
	const controller = await createController();
	const markers = temporaryDirectory('xi-exec-ran-');
	const script = installScript('touch-it', `#!/bin/sh\ntouch "${markers}/ran-$1"\n`);
	// The reference hook behind a wrapper that keeps each context it is given.
	const recording = installScript('recording-hook', `#!/bin/sh\ncat > "$XI_EXEC_AGENT_HOME/context.json"\ncat "$XI_EXEC_AGENT_HOME/context.json" >> "$XI_EXEC_AGENT_HOME/contexts.jsonl"\necho >> "$XI_EXEC_AGENT_HOME/contexts.jsonl"\nexec "${process.execPath}" "${hook}" < "$XI_EXEC_AGENT_HOME/context.json"\n`);
	const policies: Record<string, unknown> = {
		web1: {rules: [{name: 'once an hour', effect: 'allow', callers: ['*'], scripts: ['touch-it'], rate: {perCaller: '1/1h'}}]},
		web2: {rules: [{name: 'not here', effect: 'deny', callers: ['*'], scripts: ['*']}]},
	};
	const agents: TestAgent[] = [];
	const running: RunningAgent[] = [];
	for (const name of ['web1', 'web2']) {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'touch-it': script}});
		writeFileSync(join(agent.home, 'policy.json'), JSON.stringify(policies[name]));
		const config = JSON.parse(readFileSync(agentPaths(agent.home).config, 'utf8')) as Record<string, unknown>;
		writeFileSync(agentPaths(agent.home).config, JSON.stringify({...config, hook: recording, hookTimeoutMs: 30_000}));
		agents.push(agent);
		running.push(await startAgent(agent));
	}

	t.teardown(async () => Promise.all(running.map(async agent => agent.stop())));
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const requestIds: string[] = [];

	const plain = await runCli(controllerCli, ['run', 'touch-it', '--on', 'env=production', '--dry-run', '--', 'dry'], env);
	t.is(plain.code, 1, plain.stderr);
	const requestId = /request ([\da-f-]{36})\n$/.exec(plain.stdout)?.[1] ?? '';
	requestIds.push(requestId);
	t.is(plain.stdout, [
		'AGENT  WOULD RUN  REASON',
		'web1   yes        allowed by rule "once an hour"',
		'web2   no         denied by rule "not here"',
		`1 would run, 1 would not (nothing ran)   request ${requestId}`,
		'',
	].join('\n'));

	const json = await runCli(controllerCli, ['run', 'touch-it', '--on', 'env=production', '--dry-run', '--json', '--', 'dry'], env);
	t.is(json.code, 1, json.stderr);
	const document = JSON.parse(json.stdout) as {requestId: string};
	requestIds.push(document.requestId);
	t.deepEqual(document, {requestId: document.requestId, script: 'touch-it', args: ['dry'], dryRun: true, targets: [
		{agent: 'web1', wouldRun: true, status: 'ok', reason: 'allowed by rule "once an hour"'},
		{agent: 'web2', wouldRun: false, status: 'denied', reason: 'denied by rule "not here"'},
	]});

	// Nothing ran, each hook was told it was a dry run, and no rate limit was charged.
	t.false(existsSync(join(markers, 'ran-dry')));
	for (const agent of agents) {
		const contexts = readFileSync(join(agent.home, 'contexts.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as {requestId: string; dryRun: boolean});
		t.deepEqual(contexts.map(context => [context.requestId, context.dryRun]), requestIds.map(id => [id, true]), agent.name);
		const events = readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as {event: string});
		t.deepEqual(events.filter(record => record.event === 'run.start'), [], `${agent.name} started nothing`);
	}

	const rates = join(agents[0]!.home, 'policy-state.json');
	t.deepEqual(existsSync(rates) ? JSON.parse(readFileSync(rates, 'utf8')) as unknown : {}, {}, 'the dry runs charged nothing');

	// The one real run an hour is still there; the next is refused, and a dry run now says so.
	const real = await runCli(controllerCli, ['run', 'touch-it', '--on', 'web1', '--', 'real'], env);
	t.is(real.code, 0, real.stderr + real.stdout);
	t.true(existsSync(join(markers, 'ran-real')));
	const again = await runCli(controllerCli, ['run', 'touch-it', '--on', 'web1', '--dry-run', '--json', '--', 'again'], env);
	const [web1] = (JSON.parse(again.stdout) as {targets: Array<{wouldRun: boolean; reason: string}>}).targets;
	t.false(web1!.wouldRun);
	t.regex(web1!.reason, /^rule "once an hour" does not allow it: rate limit reached \(1 per 3600 s for caller .+\)$/);
});
