/**
 * A stop (SIGTERM, SIGINT, an unpair: server.close) cancels the runs going and waits for their
 * records. A run frame that arrives while it waits (on a connection already open: a description
 * kept open for its run) was started and left to run: the stop had already cancelled the runs it
 * found and waited only for those (in this row the script ran to "ok" during the stop; a longer one
 * would outlive agent.stopped). Now it is refused unstarted (a free slot is not taken by a run
 * already stopped) and waited for: its run.refused, status cancelled, "stopped before it started:
 * the agent is shutting down", is written before the stop ends; it never reaches run.start.
 * Real agent server in this process, mutual TLS; needs root for its scripts (root's files).
 */
import {randomUUID} from 'node:crypto';
import {connect} from 'node:tls';
import {join} from 'node:path';
import test from 'ava';
import type {AgentRecorder} from '../../agent/run-context.js';
import {controllerCredentials, createController, rawExchange, requestLine, waitFor} from '../helpers/fleet.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';
import {baseDirectory, executable} from '../security/agent-run.js';

const rootTest = process.getuid?.() === 0 ? test : test.skip;

rootTest('a run frame that arrives while the agent stops is refused unstarted and waited for (run.refused before the stop ends)', async t => {
	t.timeout(60_000);
	const records: Array<Record<string, unknown> & {event: string}> = [];
	const recorder: AgentRecorder = {
		async record(event, fields) {
			records.push({event, ...fields});
		},
		signedHead: () => undefined,
	};
	const directory = baseDirectory('xi-exec-stop-');
	const slow = executable(join(directory, 'slow'), '#!/bin/sh\ntrap "" TERM\necho started\nsleep 1\n');
	const hello = executable(join(directory, 'hello'), '#!/bin/sh\necho hello\n');
	const controller = await createController();
	const {server} = await inProcessAgent(controller, 'stopper', {slow, hello}, {recorder});
	const credentials = controllerCredentials(controller);
	const port = server.address().port;

	// A run going, which the stop must cancel and wait for (it ignores SIGTERM: the grace period holds the stop).
	const first = rawExchange(port, {...credentials, send: [requestLine({type: 'run', id: randomUUID(), script: 'slow', args: [], caller: 'ops'})]});
	await waitFor(() => records.find(record => record.event === 'run.start' && record['script'] === 'slow'), 'the slow run to start');

	// A connection with a description kept open for its run.
	const socket = connect({host: '127.0.0.1', port, ca: [credentials.ca], key: credentials.key, cert: credentials.cert, checkServerIdentity: () => undefined});
	let received = '';
	socket.on('data', (chunk: Buffer) => {
		received += chunk.toString();
	});
	socket.on('error', () => undefined);
	await new Promise(resolve => socket.once('secureConnect', resolve));
	socket.write(requestLine({type: 'describe', id: randomUUID(), caller: 'ops', keepOpen: true}));
	await waitFor(() => (received.includes('"openForRun":true') ? true : undefined), 'the description kept open');

	const stopped = server.close();
	const id = randomUUID();
	socket.write(requestLine({type: 'run', id, script: 'hello', args: [], caller: 'ops'}));
	await stopped;
	// Written before the stop ended: the stop cancelled it and waited for it, as for the runs it found going.
	const own = records.filter(record => record['requestId'] === id);
	t.like(own.at(-1), {event: 'run.refused', script: 'hello', status: 'cancelled', reason: 'stopped before it started: the agent is shutting down (not a cancel); nothing ran'});
	t.false(own.some(record => record.event === 'run.start'), 'never started');
	await first;
	socket.destroy();
});
