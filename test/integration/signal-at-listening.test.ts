/**
 * A supervisor may signal a daemon the moment it logs "listening" (or, for the agent, writes its
 * pid file): the handlers must be in place by then. Before, both daemons installed them just
 * after that line, so a SIGTERM in between killed the process by node's default: the agent left
 * no `stopping` line, no `agent.stopped` audit record and its pid file behind (CI caught it once
 * in 4 starts under load), and a SIGHUP killed it too. Each row has the process signal itself from
 * inside the write of that line (test/fixtures/signal-at-event.mjs), so the window is hit
 * every time: the agent's rows fail on the code before. `xi-exec serve` had the same order; its
 * rows passed on the code before here (its handler won the race every time), and keep the order.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCli, controllerCli, createController, enrolAgent, fixtures, freePort, installFixture, spawnCli} from '../helpers/fleet.js';

const preload = ['--import', join(fixtures, 'signal-at-event.mjs')];

function events(stdout: string): string[] {
	return stdout.trim().split('\n').flatMap(line => {
		try {
			return [(JSON.parse(line) as {event: string}).event];
		} catch {
			return [];
		}
	});
}

const agentRows: Array<{signal: NodeJS.Signals; events: string[]; audited: NodeJS.Signals}> = [
	{signal: 'SIGTERM', events: ['listening', 'stopping'], audited: 'SIGTERM'},
	{signal: 'SIGINT', events: ['listening', 'stopping'], audited: 'SIGINT'},
	// SIGHUP reloads and the agent runs on; the preload stops it once the reload is logged.
	{signal: 'SIGHUP', events: ['listening', 'allowlist.reloaded', 'stopping'], audited: 'SIGTERM'},
];

for (const row of agentRows) {
	test(`xi-exec-agent start: ${row.signal} as it logs "listening" is handled (exit 0, agent.stopped audited, pid file removed)`, async t => {
		const controller = await createController();
		const agent = await enrolAgent(controller, {name: `sig-${row.signal.toLowerCase()}`, port: freePort(), scripts: {hello: installFixture('hello.sh')}});
		const result = await spawnCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home, SIGNALS_AT: JSON.stringify([['"event":"listening"', row.signal], ['"event":"allowlist.reloaded"', 'SIGTERM']])}, preload).done;
		t.is(result.code, 0, `${result.stdout}${result.stderr}`);
		t.deepEqual(events(result.stdout).filter(event => row.events.includes(event)), row.events);
		const audit = readFileSync(join(agent.home, 'audit', 'agent.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
		t.like(audit.findLast(record => record['event'] === 'agent.stopped'), {event: 'agent.stopped', signal: row.audited});
		t.false(existsSync(join(agent.home, 'agent.pid')));
	});
}

const serveRows: Array<{signal: NodeJS.Signals; code: number}> = [
	{signal: 'SIGTERM', code: 0},
	{signal: 'SIGINT', code: 130},
];

for (const row of serveRows) {
	test(`xi-exec serve: ${row.signal} as it logs "listening" is handled (exit ${row.code}, stopping then stopped)`, async t => {
		const controller = await createController();
		const result = await spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0'], {XI_EXEC_HOME: controller, SIGNALS_AT: JSON.stringify([['"event":"listening"', row.signal]])}, preload).done;
		t.is(result.code, row.code, `${result.stdout}${result.stderr}`);
		t.deepEqual(events(result.stdout).filter(event => ['listening', 'stopping', 'stopped'].includes(event)), ['listening', 'stopping', 'stopped']);
	});
}
