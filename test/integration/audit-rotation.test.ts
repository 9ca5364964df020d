/**
 * Rotation over real processes: with `auditRotateBytes` at its smallest (4096) in both sides'
 * config.json, a few runs rotate both logs; `xi-exec-agent audit verify`, `xi-exec audit verify`
 * and `--cross` read every file, `xi-exec audit --request` finds records in rotated files, and an
 * agent log whose oldest rotated file is gone fails `--cross` naming the file and line.
 */
import {cpSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths} from '../../source/home.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';

test('both logs rotate at auditRotateBytes; verify, --cross and audit read every file', async t => {
	const controller = await createController();
	writeFileSync(controllerPaths(controller).config, JSON.stringify({auditRotateBytes: 4096}));
	const agent = await enrolAgent(controller, {name: 'rotate1', port: freePort(), scripts: {hello: installScript('hello', '#!/bin/sh\necho hello "$@"\n')}});
	const paths = agentPaths(agent.home);
	writeFileSync(paths.config, JSON.stringify({...JSON.parse(readFileSync(paths.config, 'utf8')) as object, auditRotateBytes: 4096}));
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller};
	const requestIds: string[] = [];
	for (let index = 0; index < 6; index++) {
		const run = await runCli(controllerCli, ['run', 'hello', '--on', 'rotate1', '--json', '--', `run-${index}`, 'x'.repeat(300)], env);
		t.is(run.code, 0, run.stderr);
		requestIds.push((JSON.parse(run.stdout) as {requestId: string}).requestId);
	}

	await running.stop();
	const agentFiles = readdirSync(paths.auditDirectory).filter(name => name.startsWith('agent.jsonl') && !name.endsWith('.lock')).sort();
	const controllerFiles = readdirSync(controllerPaths(controller).auditDirectory).filter(name => name.startsWith('controller.jsonl') && !name.endsWith('.lock')).sort();
	t.true(agentFiles.length >= 3, agentFiles.join(' '));
	t.true(controllerFiles.length >= 2, controllerFiles.join(' '));
	t.deepEqual(agentFiles.slice(0, 2), ['agent.jsonl', 'agent.jsonl.1']);

	const agentVerify = await runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(agentVerify.code, 0, agentVerify.stdout);
	t.regex(agentVerify.stdout, new RegExp(`^ok: \\d+ records, chain intact, last checkpoint at \\d+ \\(${agentFiles.length} files\\)$`, 'm'));
	const controllerVerify = await runCli(controllerCli, ['audit', 'verify'], env);
	t.is(controllerVerify.code, 0, controllerVerify.stdout);
	t.regex(controllerVerify.stdout, new RegExp(`^ok: \\d+ records, chain intact, last checkpoint at \\d+ \\(${controllerFiles.length} files\\)$`, 'm'));

	const cross = await runCli(controllerCli, ['audit', 'verify', '--cross', paths.auditLog], env);
	t.is(cross.code, 0, cross.stdout);
	t.regex(cross.stdout, /cross: ok, 1 agent log agree with the controller/);
	const first = JSON.parse((await runCli(controllerCli, ['audit', '--request', requestIds[0]!, '--json'], env)).stdout) as {records: Array<{event: string}>};
	t.deepEqual(first.records.map(record => record.event), ['run.request', 'run.outcome'], 'the first run\'s records, from a rotated file');

	// An auditor's copy of the agent's log without its oldest file.
	const copy = temporaryDirectory('xi-exec-audit-copy-');
	for (const name of agentFiles.filter(name => name !== 'agent.jsonl.1')) {
		cpSync(join(paths.auditDirectory, name), join(copy, name));
	}

	const missing = await runCli(controllerCli, ['audit', 'verify', '--cross', join(copy, 'agent.jsonl')], env);
	t.is(missing.code, 1, missing.stdout);
	t.regex(missing.stdout, new RegExp(`^broken: ${join(copy, 'agent.jsonl.2')} line 1: missing file: agent.jsonl.2 continues agent.jsonl.1 .*, which is missing$`, 'm'));
	t.regex(missing.stdout, /^cross: 1 agent log is broken$/m);
	rmSync(copy, {recursive: true, force: true});
});
