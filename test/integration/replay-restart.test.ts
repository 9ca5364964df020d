/**
 * The replay window survives restarts: a run frame accepted by an agent, replayed byte for byte
 * after that agent was stopped (SIGTERM) or killed (SIGKILL, no chance to save anything) and
 * started again, is refused with the exact "replayed" error, the refusal is in the agent's audit
 * log, and the script ran once. A new frame after the restart still runs (no over-blocking).
 */
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {seenRequestsFile} from '../../agent/replay-memory.js';
import {controllerCredentials, createController, enrolAgent, freePort, installScript, logEvents, rawExchange, requestLine, startAgent, waitFor} from '../helpers/fleet.js';

const echo = '#!/bin/sh\nprintf "[%s]\\n" "$@"\n';

const auditRecords = (home: string) => readFileSync(agentPaths(home).auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>);

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
	test(`a run frame replayed after the agent restarts (${signal}) is refused as replayed, audited, and ran once`, async t => {
		const controllerHome = await createController();
		const agent = await enrolAgent(controllerHome, {name: 'web1', port: freePort(), scripts: {echo: installScript('echo', echo)}});
		const credentials = controllerCredentials(controllerHome);
		const raw = async (line: string) => rawExchange(agent.port, {ca: credentials.ca, key: credentials.key, cert: credentials.cert, send: [line]});
		let running = await startAgent(agent);
		t.teardown(async () => running.stop());

		const id = randomUUID();
		const msg = randomUUID();
		const line = requestLine({type: 'run', id, msg, script: 'echo', args: ['once'], caller: 'ops'});
		const first = await raw(line);
		t.like(first.frames.at(-1), {type: 'result', id, status: 'ok'});

		if (signal === 'SIGKILL') {
			const exited = new Promise(resolve => running.process.once('exit', resolve));
			running.process.kill('SIGKILL');
			await exited;
		} else {
			await running.stop();
		}

		t.regex(readFileSync(join(agent.home, seenRequestsFile), 'utf8'), new RegExp(`^\\d+ ${msg}$`, 'm'));
		running = await startAgent(agent);
		const replayed = await raw(line);
		t.deepEqual(replayed.frames, [{v: 1, type: 'error', id, code: 'replayed', message: `message ${msg} was already received`}]);
		t.is(logEvents(running, 'run.start').length, 0, 'the restarted agent ran nothing');
		const refusal = await waitFor(() => auditRecords(agent.home).find(record => record['event'] === 'protocol.error' && record['requestId'] === id), 'the refusal in the agent\'s audit log');
		t.like(refusal, {side: 'agent', agent: 'web1', reason: `message ${msg} was already received`});
		t.regex(String(refusal['source']), /^127\.0\.0\.1:\d+$/);
		t.is(auditRecords(agent.home).filter(record => record['event'] === 'run.start' && record['requestId'] === id).length, 1, 'the script ran once, before the restart');

		// The neighbour: a new message with the same request id and body still runs.
		const fresh = await raw(requestLine({type: 'run', id: randomUUID(), script: 'echo', args: ['again'], caller: 'ops'}));
		t.like(fresh.frames.at(-1), {type: 'result', status: 'ok'});
	});
}
