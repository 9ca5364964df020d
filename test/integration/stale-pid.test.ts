/**
 * `xi-exec-agent allow`, `deny` and `tag set|unset` signal the running agent to reload: SIGHUP to the
 * pid in agent.pid. An agent that died (a crash, SIGKILL, a power cut) leaves that file behind, and
 * after a reboot its number soon belongs to another process: before, the command sent that process
 * SIGHUP (node's and most programs' default: death). Now the pid is signalled only while an agent
 * holds the home's audit lock (it refreshes it for its life; source/io/brief-lock.ts lockHeld); and
 * an agent that starts removes a pid file left there once it holds that lock.
 */
import {spawn} from 'node:child_process';
import {utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCli, createController, enrolAgent, fixtures, freePort, installFixture, runCli, spawnCli, waitFor} from '../helpers/fleet.js';

/** A process of its own that holds the number a dead agent left in agent.pid; resolves with the signal that ended it. */
function bystander(): {pid: number; end: () => Promise<NodeJS.Signals | null>} {
	const child = spawn('sleep', ['600'], {stdio: 'ignore'});
	const ended = new Promise<NodeJS.Signals | null>(resolve => {
		child.once('exit', (_code, signal) => resolve(signal));
	});
	return {
		pid: child.pid!,
		async end() {
			child.kill('SIGTERM');
			return ended;
		},
	};
}

const rows: Array<{title: string; args: string[]}> = [
	{title: 'tag set', args: ['tag', 'set', 'role=web']},
	{title: 'deny', args: ['deny', 'hello']},
];

for (const row of rows) {
	test(`xi-exec-agent ${row.title} with no agent running does not signal the process a dead agent's pid file names`, async t => {
		t.timeout(120_000);
		const controller = await createController();
		const agent = await enrolAgent(controller, {name: `stale-${row.title.replace(' ', '-')}`, port: freePort(), scripts: {hello: installFixture('hello.sh')}});
		const other = bystander();
		writeFileSync(join(agent.home, 'agent.pid'), `${other.pid}\n`);
		// Written by the agent before it died, so before the process that took its number started.
		const died = new Date(Date.now() - 3_600_000);
		utimesSync(join(agent.home, 'agent.pid'), died, died);
		const result = await runCli(agentCli, row.args, {XI_EXEC_AGENT_HOME: agent.home});
		t.is(result.code, 0, result.stderr);
		// A SIGHUP sent by the command would have ended it by now (kill(2) returns after delivery to a process that does not block it).
		t.is(await other.end(), 'SIGTERM', 'ended by the test\'s SIGTERM, not by a SIGHUP from the command');
	});
}

test('xi-exec-agent tag set still reloads a running agent (its pid file, its audit lock held)', async t => {
	t.timeout(120_000);
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'live-pid', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const running = spawnCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
	await waitFor(() => (running.output().stdout.includes('"event":"listening"') ? true : undefined), 'the agent to listen', {state: () => running.output()});
	const result = await runCli(agentCli, ['tag', 'set', 'role=db'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(result.code, 0, result.stderr);
	await waitFor(() => (running.output().stdout.includes('"event":"tags.reloaded"') ? true : undefined), 'the agent to reload its tags', {state: () => running.output()});
	running.child.kill('SIGTERM');
	t.is((await running.done).code, 0);
	const reloaded = running.output().stdout.split('\n').find(line => line.includes('"event":"tags.reloaded"'));
	t.like(JSON.parse(reloaded!) as Record<string, unknown>, {event: 'tags.reloaded', tags: {role: 'db'}});
});

test('an agent that starts removes a pid file left by a dead one once it holds the audit lock, before it writes its own', async t => {
	t.timeout(120_000);
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'stale-start', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const pidFile = join(agent.home, 'agent.pid');
	const other = bystander();
	writeFileSync(pidFile, `${other.pid}\n`);
	// Looked at just before the agent writes its own pid file (its start-up, the lock held all along), then stopped.
	const signals = [['write:agent.pid', `exists:${pidFile}`], ['"event":"listening"', 'SIGTERM']];
	const result = await spawnCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home, SIGNALS_AT: JSON.stringify(signals)}, ['--import', join(fixtures, 'signal-at-event.mjs')]).done;
	t.is(result.code, 0, result.stderr);
	t.true(result.stderr.includes(JSON.stringify({exists: false, path: pidFile})), result.stderr);
	t.is(await other.end(), 'SIGTERM');
});
