/**
 * The replay window survives restarts: a run frame accepted by an agent, replayed byte for byte
 * after that agent was stopped (SIGTERM) or killed (SIGKILL, no chance to save anything) and
 * started again, is refused with the exact "replayed" error, the refusal is in the agent's audit
 * log, and the script ran once. A new frame after the restart still runs (no over-blocking).
 * The run's message id is kept in its audit receipt (`request.received`), which reaches the disk
 * before anything acts on the run: an agent killed between that write and the script's start
 * (test/fixtures/crash-agent.ts), restarted, refuses the replay the same way, and nothing ran.
 */
import {spawn} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {readFileSync, rmSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, freePort, installScript, logEvents, rawExchange, requestLine, startAgent, waitFor, type RawReply} from '../helpers/fleet.js';

const echo = '#!/bin/sh\nprintf "[%s]\\n" "$@"\n';

const auditRecords = (home: string) => readFileSync(agentPaths(home).auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>);
const crashAgent = fileURLToPath(new URL('../fixtures/crash-agent.ts', import.meta.url));

/** The restarted agent refuses `line` (message `msg` of request `id`) as replayed, with the refusal in its audit log. */
async function refusedAsReplayed(t: import('ava').ExecutionContext, replayed: RawReply, home: string, id: string, msg: string): Promise<void> {
	t.deepEqual(replayed.frames, [{v: 1, type: 'error', id, code: 'replayed', message: `message ${msg} was already received`}]);
	const refusal = await waitFor(() => auditRecords(home).find(record => record['event'] === 'protocol.error' && record['requestId'] === id), 'the refusal in the agent\'s audit log');
	t.like(refusal, {side: 'agent', agent: 'web1', reason: `message ${msg} was already received`});
	t.regex(String(refusal['source']), /^127\.0\.0\.1:\d+$/);
}

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

		t.like(auditRecords(agent.home).find(record => record['event'] === 'request.received' && record['requestId'] === id), {msg}, 'the receipt keeps the message id');
		running = await startAgent(agent);
		await refusedAsReplayed(t, await raw(line), agent.home, id, msg);
		t.is(logEvents(running, 'run.start').length, 0, 'the restarted agent ran nothing');
		t.is(auditRecords(agent.home).filter(record => record['event'] === 'run.start' && record['requestId'] === id).length, 1, 'the script ran once, before the restart');

		// The neighbour: a new message with the same request id and body still runs.
		const fresh = await raw(requestLine({type: 'run', id: randomUUID(), script: 'echo', args: ['again'], caller: 'ops'}));
		t.like(fresh.frames.at(-1), {type: 'result', status: 'ok'});
	});
}

for (const point of ['receipt-written', 'receipt-durable'] as const) {
	test(`a run frame replayed after the agent was killed between its receipt's write and the run (${point}) is refused as replayed, audited, and never ran`, async t => {
		const controllerHome = await createController();
		const agent = await enrolAgent(controllerHome, {name: 'web1', port: freePort(), scripts: {echo: installScript('echo', echo)}});
		const credentials = controllerCredentials(controllerHome);
		const raw = async (line: string) => rawExchange(agent.port, {ca: credentials.ca, key: credentials.key, cert: credentials.cert, send: [line]});
		const crashing = spawn(process.execPath, ['--import=tsx', crashAgent, agent.home, point], {stdio: ['ignore', 'pipe', 'inherit']});
		const killed = new Promise(resolve => crashing.once('exit', (_code, signal) => resolve(signal)));
		await new Promise<void>((resolve, reject) => {
			crashing.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
			crashing.once('exit', () => reject(new Error('the crashing agent exited before it listened')));
		});

		const id = randomUUID();
		const msg = randomUUID();
		const line = requestLine({type: 'run', id, msg, script: 'echo', args: ['never'], caller: 'ops'});
		const first = await raw(line);
		t.is(await killed, 'SIGKILL');
		t.false(first.frames.some(frame => frame['type'] === 'result'), 'no answer from the killed agent');
		// A dead agent's lock is what the next one would outwait as stale: removed at once (its owner is dead).
		rmSync(`${agentPaths(agent.home).auditLog}.lock`, {recursive: true, force: true});

		const running = await startAgent(agent);
		t.teardown(async () => running.stop());
		await refusedAsReplayed(t, await raw(line), agent.home, id, msg);
		t.is(logEvents(running, 'run.start').length, 0, 'the restarted agent ran nothing');
		t.is(auditRecords(agent.home).filter(record => record['event'] === 'run.start' && record['requestId'] === id).length, 0, 'the script never ran');
		const fresh = await raw(requestLine({type: 'run', id: randomUUID(), script: 'echo', args: ['again'], caller: 'ops'}));
		t.like(fresh.frames.at(-1), {type: 'result', status: 'ok'});
	});
}
