/**
 * The neighbours of signal-at-listening.test.ts: signals a daemon gets at other moments of its life.
 * Each row has the process signal itself from inside a write it makes (test/fixtures/signal-at-event.mjs:
 * a log line, or the mkdir that takes the agent's audit lock), so each window is hit every time.
 *
 * - A second SIGTERM (or a Ctrl-C) while stopping: both daemons listened with process.once, so the
 *   second signal found node's default and killed the process in the middle of its stop: the agent
 *   without its `agent.stopped` record, its pid file and its audit lock left behind. Serve's rows held
 *   before: it removes its SIGTERM listener once stopping, but the controller also loads signal-exit
 *   (proper-lockfile), whose listener keeps node's default away; they guard that.
 * - SIGTERM or SIGHUP during the agent's start-up, before its handlers (they came just before
 *   "listening"): killed by node's default, the audit lock left for the next start to outwait (10-15 s),
 *   and under systemd (Restart=on-failure counts death by SIGHUP/SIGTERM as clean) a `systemctl reload`
 *   during start-up left the agent down. Now a stop asked during start-up stops it once it listens, and
 *   a reload asked then is made once it listens (the files may have changed since they were read).
 * - SIGHUP while stopping: the agent read its files again and logged allowlist.reloaded after
 *   "stopping" (a tag change would be recorded after agent.stopped); now refused (reload.refused).
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentCli, controllerCli, createController, enrolAgent, fixtures, freePort, installFixture, spawnCli} from '../helpers/fleet.js';

const preload = ['--import', join(fixtures, 'signal-at-event.mjs')];

function logged(stdout: string): Array<{event: string} & Record<string, unknown>> {
	return stdout.trim().split('\n').flatMap(line => {
		try {
			return [JSON.parse(line) as {event: string}];
		} catch {
			return [];
		}
	});
}

const at = (event: string) => `"event":"${event}"`;
const lockTaken = 'mkdir:agent.jsonl.lock';

type AgentRow = {title: string; signals: Array<[string, NodeJS.Signals]>; events: string[]; audited: NodeJS.Signals};
const agentRows: AgentRow[] = [
	{title: 'a second SIGTERM while stopping is not a second stop', signals: [[at('listening'), 'SIGTERM'], [at('stopping'), 'SIGTERM']], events: ['listening', 'stopping', 'stopping.already'], audited: 'SIGTERM'},
	{title: 'SIGINT while stopping on SIGTERM is not a second stop', signals: [[at('listening'), 'SIGTERM'], [at('stopping'), 'SIGINT']], events: ['listening', 'stopping', 'stopping.already'], audited: 'SIGTERM'},
	{title: 'SIGTERM during start-up (its audit lock just taken) stops it once it listens', signals: [[lockTaken, 'SIGTERM']], events: ['stopping.deferred', 'listening', 'stopping'], audited: 'SIGTERM'},
	{title: 'SIGINT during start-up stops it once it listens', signals: [[lockTaken, 'SIGINT']], events: ['listening', 'stopping'], audited: 'SIGINT'},
	// A reload during the stop read the files again and logged allowlist.reloaded after "stopping" (a tag change recorded after agent.stopped).
	{title: 'SIGHUP while stopping is refused, not a reload', signals: [[at('listening'), 'SIGTERM'], [at('stopping'), 'SIGHUP']], events: ['listening', 'stopping', 'reload.refused'], audited: 'SIGTERM'},
	// The agent runs on; the preload stops it once the reload is logged.
	{title: 'SIGHUP during start-up is a reload once it listens, not its death', signals: [[lockTaken, 'SIGHUP'], [at('allowlist.reloaded'), 'SIGTERM']], events: ['listening', 'allowlist.reloaded', 'stopping'], audited: 'SIGTERM'},
];

for (const row of agentRows) {
	test(`xi-exec-agent start: ${row.title} (exit 0, agent.stopped audited, pid file and audit lock removed)`, async t => {
		const controller = await createController();
		const agent = await enrolAgent(controller, {name: `sig-${agentRows.indexOf(row)}`, port: freePort(), scripts: {hello: installFixture('hello.sh')}});
		const result = await spawnCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home, SIGNALS_AT: JSON.stringify(row.signals)}, preload).done;
		t.is(result.code, 0, `${result.stdout}${result.stderr}`);
		const lines = logged(result.stdout);
		t.deepEqual(lines.map(line => line.event).filter(event => row.events.includes(event)), row.events);
		t.false(lines.slice(lines.findIndex(line => line.event === 'stopping')).some(line => line.event === 'allowlist.reloaded'), 'no reload once stopping');
		const again = lines.find(line => line.event === 'stopping.already');
		if (again) {
			t.like(again, {signal: row.signals.at(-1)![1]});
		}

		const audit = readFileSync(join(agent.home, 'audit', 'agent.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
		t.like(audit.filter(record => record['event'] !== 'checkpoint').at(-1), {event: 'agent.stopped', signal: row.audited}, 'agent.stopped is the last record (but its checkpoint)');
		t.false(existsSync(join(agent.home, 'agent.pid')), 'pid file removed');
		t.false(existsSync(join(agent.home, 'audit', 'agent.jsonl.lock')), 'audit lock released');
	});
}

// A start-up that waits (an audit lock another agent left, a slow hook) must not be deaf: a second
// stop during start-up stops it at once (before, the first did: node's default).
const twice: Array<[string, NodeJS.Signals]> = [[lockTaken, 'SIGINT'], [at('stopping.deferred'), 'SIGINT']];
test('xi-exec-agent start: a second SIGINT during start-up stops it at once (exit 130, said why, never listens)', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'sig-twice', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	const result = await spawnCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home, SIGNALS_AT: JSON.stringify(twice)}, preload).done;
	t.is(result.code, 130, `${result.stdout}${result.stderr}`);
	const lines = logged(result.stdout);
	t.deepEqual(lines.map(line => line.event).filter(event => ['stopping.deferred', 'stopping.now', 'listening'].includes(event)), ['stopping.deferred', 'stopping.now']);
	t.like(lines.find(line => line.event === 'stopping.now'), {signal: 'SIGINT', reason: 'asked again during start-up: stopped at once, without agent.stopped; the next start outwaits the audit lock left behind'});
});

const serveRows: Array<{signals: Array<[string, NodeJS.Signals]>; code: number}> = [
	{signals: [[at('listening'), 'SIGTERM'], [at('stopping'), 'SIGTERM']], code: 0},
	{signals: [[at('listening'), 'SIGINT'], [at('stopping'), 'SIGTERM']], code: 130},
];

for (const row of serveRows) {
	test(`xi-exec serve: ${row.signals[1]![1]} while stopping on ${row.signals[0]![1]} does not end the stop (exit ${row.code}, stopping then stopped)`, async t => {
		const controller = await createController();
		const result = await spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0'], {XI_EXEC_HOME: controller, SIGNALS_AT: JSON.stringify(row.signals)}, preload).done;
		t.is(result.code, row.code, `${result.stdout}${result.stderr}`);
		const lines = logged(result.stdout);
		t.deepEqual(lines.map(line => line.event).filter(event => ['listening', 'stopping', 'stopped'].includes(event)), ['listening', 'stopping', 'stopped']);
	});
}
