/**
 * The run limits bound the auth hook's calls too. Each call is a process (the reference hook is a
 * node process, ~40 MB), yet the hook was asked before a run took its slot: every run frame a
 * controller sent at once (up to maxConnections, 1024) had its hook started at once. Measured before
 * (bd33fe5, limits 16 and 64, 300 frames at once, a hook that sleeps 3 s): 168 hook processes seen
 * at once, 297 runs ok, 3 busy. Now at most maxConcurrentRuns calls at once and maxQueuedRuns
 * waiting; past that the run is refused at once, the hook not asked: error "agent busy: 2 auth hook
 * calls in progress and 3 queued (limits 2 and 3)", recorded as run.refused with no decision.
 * Real built agent, real hook and script, mutual TLS; nothing timed: the hook holds every call
 * until the test creates its release file.
 */
import {randomUUID} from 'node:crypto';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, freePort, installFixture, installScript, rawExchange, requestLine, setAgentLimits, startAgent, temporaryDirectory, waitFor} from '../helpers/fleet.js';

const busy = 'agent busy: 2 auth hook calls in progress and 3 queued (limits 2 and 3)';

test('run frames sent at once start no more hook calls than the run limits allow; the rest are refused before the hook', async t => {
	t.timeout(120_000);
	const directory = temporaryDirectory('xi-exec-hook-fan-');
	const calls = join(directory, 'calls');
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'hook-fan', port: freePort(), scripts: {hello: installFixture('hello.sh')}});
	setAgentLimits(agent, {maxConcurrentRuns: 2, maxQueuedRuns: 3});
	// Each call leaves a file named by its process id, then waits for the test.
	const hook = installScript('hook', `#!/bin/sh\ncat >/dev/null\nmkdir -p ${calls}\ntouch ${calls}/$$\nwhile [ ! -e ${directory}/release ]; do sleep 0.05; done\necho '{"allow":true}'\n`);
	const paths = agentPaths(agent.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), hook, hookTimeoutMs: 120_000});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	// Before the stop (teardowns run last first): a failed assertion must not leave the hook calls waiting.
	const release = () => writeFileSync(join(directory, 'release'), '');
	t.teardown(release);
	const credentials = controllerCredentials(controller);

	const ids = Array.from({length: 8}, () => randomUUID());
	const replies = ids.map(id => rawExchange(agent.port, {...credentials, send: [requestLine({type: 'run', id, script: 'hello', args: [], caller: 'ops'})]}));
	const made = () => {
		try {
			return readdirSync(calls).length;
		} catch {
			return 0;
		}
	};

	const refused = () => running.lines.filter(line => line.includes('"event":"run.refused"')).length;
	// All eight received, and each either in its hook or refused (or, before, every one in its hook).
	await waitFor(() => (running.lines.filter(line => line.includes('"event":"request.received"')).length === 8 && made() + refused() >= 5 ? true : undefined), 'every frame received and dealt with', {state: () => ({made: made(), refused: refused()})});
	t.is(made(), 2, 'hook calls at once');
	release();
	const results = (await Promise.all(replies)).map(reply => reply.frames.find(frame => frame['type'] === 'result'));
	t.is(made(), 5, 'the three queued were asked in turn');
	t.deepEqual(results.map(result => result?.['status']).sort(), ['error', 'error', 'error', 'ok', 'ok', 'ok', 'ok', 'ok']);
	for (const result of results.filter(result => result?.['status'] === 'error')) {
		t.like(result, {exitCode: null, reason: busy});
	}

	const records = readFileSync(paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	const busyIds = results.filter(result => result?.['status'] === 'error').map(result => result?.['id']);
	for (const id of busyIds) {
		const own = records.filter(record => record['requestId'] === id);
		t.deepEqual(own.map(record => record['event']), ['request.received', 'run.refused'], 'refused before the hook: no decision');
		t.like(own.at(-1), {status: 'error', reason: busy});
	}
});
