/**
 * Review s15 of fa2a767: `xi-exec-agent deny` signals the running agent only while its audit lock
 * is fresh (lockHeld: refreshed every 10 s, stale after 10 s more). An agent whose refresh is late
 * (its process paused: a VM paused or migrated, a frozen cgroup, SIGSTOP, swap; its loop blocked)
 * is alive but looks dead: the deny says "Removed hello from the allowlist." and no SIGHUP is
 * sent, so the resumed agent keeps running the script until something else reloads it. Before
 * fa2a767 the SIGHUP waited, pending, and the agent reloaded as it resumed. Here the pause is a
 * SIGSTOP and the late refresh is the lock's mtime set back (what 17 s of pause does; nothing timed).
 */
import {utimesSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {setTimeout as delay} from 'node:timers/promises';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installFixture, runCli, startAgent} from '../helpers/fleet.js';

test('a deny made while the agent is paused takes effect when it resumes', async t => {
	t.timeout(120_000);
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'paused', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const run = async () => runCli(controllerCli, ['run', 'hello', '--on', 'paused', '--json'], {XI_EXEC_HOME: controller});
	t.is((await run()).code, 0);
	running.process.kill('SIGSTOP');
	try {
		const lock = join(agent.home, 'audit', 'agent.jsonl.lock');
		const past = new Date(Date.now() - 20_000);
		utimesSync(lock, past, past);
		const denied = await runCli(agentCli, ['deny', 'hello'], {XI_EXEC_AGENT_HOME: agent.home});
		t.is(denied.code, 0, denied.stderr);
	} finally {
		running.process.kill('SIGCONT');
	}

	// Resumed: whatever reloads it must have by now (a SIGHUP left pending is delivered at SIGCONT).
	let after = await run();
	for (let attempt = 0; attempt < 3 && after.code === 0; attempt++) {
		await delay(1000);
		after = await run();
	}

	t.not(after.code, 0, 'hello still ran after the deny');
	t.regex(after.stdout, /is not on paused's allowlist/);
});
