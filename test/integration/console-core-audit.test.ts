/**
 * The console's real core over a real agent: a run from the console goes through the one run flow
 * (audited before anything is dialled, each outcome audited with the agent's witnessed head,
 * kept in the history), so the audit screen's `readAudit` finds that run's records under an intact
 * chain; a run refused before dispatch reaches the screen as each target's error, with the reason.
 */
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import type {RunEvent} from '../../source/run/events.js';
import {controllerPaths} from '../../source/home.js';
import {createConsoleCore} from '../../source/ui/console-core.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent} from '../helpers/fleet.js';

test('a console run is audited on both sides and kept in the history; readAudit shows its records under an intact chain', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'console1', port: freePort(), scripts: {hello: installScript('hello', '#!/bin/sh\necho hello "$@"\n')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const paths = controllerPaths(controller);
	const core = createConsoleCore(paths, {caller: 'ops@console', pairListen: {host: '127.0.0.1', port: 0}});

	const events: RunEvent[] = [];
	const handle = core.run({script: 'hello', args: ['world'], targets: ['console1']}, event => events.push(event));
	const [result] = await handle.done;
	t.like(result, {agent: 'console1', status: 'ok', stdout: 'hello world\n'});
	t.like(events[0], {type: 'run-started', requestId: handle.requestId});
	t.like(events.at(-1), {type: 'run-finished', requestId: handle.requestId});

	const view = await core.readAudit({requestId: handle.requestId, limit: 50});
	t.deepEqual(view.records.map(record => record.event), ['run.request', 'run.outcome']);
	t.like(view.records[0], {requestId: handle.requestId, script: 'hello', args: ['world'], caller: 'ops@console', targets: ['console1']});
	t.truthy(view.records[1]!['agentHead'], 'the outcome carries the agent\'s signed head');
	t.true(view.chain.ok, view.chain.text);
	t.regex(view.chain.text, /^ok: \d+ records, chain intact, last checkpoint at \d+$/);
	t.true(existsSync(join(controller, 'runs')), 'the run is in the history');

	await running.stop();
	const cross = await runCli(controllerCli, ['audit', 'verify', '--cross', agentPaths(agent.home).auditLog], {XI_EXEC_HOME: controller});
	t.is(cross.code, 0, cross.stdout);
});

test('a console run refused before dispatch shows each target\'s error with the reason', async t => {
	const controller = await createController();
	const core = createConsoleCore(controllerPaths(controller), {caller: 'ops@console', pairListen: {host: '127.0.0.1', port: 0}});
	const events: RunEvent[] = [];
	const handle = core.run({script: 'hello', args: [], targets: ['ghost']}, event => events.push(event));
	const results = await handle.done;
	t.like(results, [{agent: 'ghost', status: 'error', reason: '--on ghost matches no registered agent (0 registered; `xi-exec agents` lists them).'}]);
	t.deepEqual(events.map(event => event.type), ['run-started', 'agent-finished', 'run-finished']);
});
