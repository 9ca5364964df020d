/**
 * The console's run controls over real agents, through the console's real core: the rollout it
 * asks for is the one the dispatcher follows (a failure threshold stops new hosts, a canary waits
 * for the operator's answer), and a dry run asks each agent without running anything, audited as
 * `run.dry-run` and kept out of the history.
 */
import test from 'ava';
import {controllerPaths} from '../../source/home.js';
import {createConsoleCore} from '../../source/ui/console-core.js';
import {createController, enrolAgent, freePort, installScript, startAgent} from '../helpers/fleet.js';

async function fleet(t: {teardown: (fn: () => Promise<void>) => void}) {
	const controller = await createController();
	// a1 fails its check, a2 and a3 pass it; hosts start in name order.
	const failing = installScript('check', '#!/bin/sh\necho "$(hostname): checking"\nexit 3\n');
	const passing = installScript('check', '#!/bin/sh\necho checked\n');
	const agents = await Promise.all([['a1', failing], ['a2', passing], ['a3', passing]].map(async ([name, script]) => enrolAgent(controller, {name: name!, port: freePort(), scripts: {check: script!}})));
	const running = await Promise.all(agents.map(async agent => startAgent(agent)));
	t.teardown(async () => {
		await Promise.all(running.map(async agent => agent.stop()));
	});
	return createConsoleCore(controllerPaths(controller), {caller: 'ops@console', pairListen: {host: '127.0.0.1', port: 0}});
}

test('console run controls reach the dispatcher: --batch 1 --max-failures 0 starts nothing after the first failure; a canary answered no stops after it', async t => {
	const core = await fleet(t);
	const stopped = await core.run({script: 'check', args: [], targets: ['a1', 'a2', 'a3'], rollout: {batch: {value: 1, percent: false}, maxFailures: {value: 0, percent: false}}}, () => undefined).done;
	t.like(stopped[0], {agent: 'a1', status: 'failed', exitCode: 3});
	t.deepEqual(stopped.slice(1).map(result => [result.agent, result.status, result.reason]), [
		['a2', 'skipped', 'not started: 1 failures, over --max-failures 0'],
		['a3', 'skipped', 'not started: 1 failures, over --max-failures 0'],
	]);

	const asked: string[][] = [];
	const canary = await core.run({script: 'check', args: [], targets: ['a2', 'a3'], rollout: {canary: 1}, approveCanary: async results => {
		asked.push(results.map(result => `${result.agent} ${result.status}`));
		return false;
	}}, () => undefined).done;
	t.deepEqual(asked, [['a2 ok']], 'asked once, with the canary\'s results');
	t.deepEqual(canary.map(result => [result.agent, result.status]), [['a2', 'ok'], ['a3', 'skipped']]);
	t.is(canary[1]!.reason, 'not started: the canary was not approved');
});

test('a console dry run: the plan\'s hosts in order, each agent\'s answer, audited as a dry run, nothing run or kept in the history', async t => {
	const core = await fleet(t);
	const before = (await core.listRuns(50)).length;
	const view = await core.dryRun({script: 'check', args: [], targets: ['a3', 'a1', 'a2'], rollout: {batch: {value: 2, percent: false}, canary: 1}, timeoutSeconds: 45});
	t.deepEqual(view.targets, ['a1', 'a2', 'a3'], 'the order they would start in');
	t.is(view.timeoutSeconds, 45);
	t.regex(view.planHash, /^[\da-f]{64}$/);
	t.deepEqual(view.answers.map(answer => [answer.agent, answer.wouldRun, answer.status]), [['a1', true, 'ok'], ['a2', true, 'ok'], ['a3', true, 'ok']], 'every host answers, the canary\'s question aside');
	t.is((await core.listRuns(50)).length, before, 'a dry run is not kept in the history');
	const audit = await core.readAudit({requestId: view.requestId, limit: 10});
	t.deepEqual(audit.records.map(record => record.event), ['run.dry-run', 'run.outcome', 'run.outcome', 'run.outcome'], 'each answer is audited too');
	t.like(audit.records[0], {rollout: {batch: {value: 2, percent: false}, canary: 1}, planHash: view.planHash});

	// A script no target offers: the core's refusal, not the console's.
	const unknown = await core.dryRun({script: 'nope', args: [], targets: ['a1']});
	t.like(unknown.answers, [{agent: 'a1', wouldRun: false, status: 'denied'}]);
	await t.throwsAsync(core.dryRun({script: 'check', args: [], targets: ['ghost']}), {message: /--on ghost matches no registered agent/});
});
