/**
 * Nothing is recorded after agent.stopped, and nothing changes once the stop began, whatever was
 * going on when it came. Real built agent (dist), mutual TLS; each window is hit every time: the
 * agent signals itself from inside a write or read it makes (test/fixtures/signal-at-event.mjs),
 * or the stop is held open by a run that ignores SIGTERM until the test releases it.
 *
 * Before (bd33fe5), checked:
 * - an unpair (or a pin) whose record was being written when SIGTERM came: the stop did not wait
 *   for it: its sockets were destroyed (the controller got no answer, though the agent deleted its
 *   credentials / pinned the serial), and its checkpoint was written after agent.stopped;
 * - an unpair that arrived during the stop (on a connection already open) was acted on: credentials
 *   deleted and agent.unpaired recorded after "stopping";
 * - a SIGHUP reload loading an allowlist with an argument schema (its compiler imported) when SIGTERM
 *   came: policy, tags and allowlist reloaded after "stopping", and agent.tags written after
 *   agent.stopped.
 * Now a step in progress is waited for (answered, recorded before agent.stopped); one whose turn
 * comes during the stop is refused (busy, "the agent is stopping"); the reload puts nothing in force.
 */
import {randomUUID} from 'node:crypto';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {connect} from 'node:tls';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, fixtures, freePort, installFixture, installScript, rawExchange, requestLine, setAgentLimits, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const preload = ['--import', join(fixtures, 'signal-at-event.mjs')];
type Record_ = Record<string, unknown> & {event: string};

function audit(agent: TestAgent): Record_[] {
	return readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record_);
}

function events(running: RunningAgent): string[] {
	return running.lines.map(line => (JSON.parse(line) as Record_).event);
}

/** The audit's events from the last `first` on. */
function tail(agent: TestAgent, first: string): string[] {
	const all = audit(agent).map(record => record.event);
	return all.slice(all.lastIndexOf(first));
}

async function agentWith(name: string, signals: Array<[string, string]>, scripts: Record<string, string> = {hello: installFixture('hello.sh')}): Promise<{agent: TestAgent; running: RunningAgent; exited: Promise<unknown>; credentials: ReturnType<typeof controllerCredentials>}> {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name, port: freePort(), scripts});
	setAgentLimits(agent, {killGraceMs: 60_000});
	const running = await startAgent(agent, {nodeArgs: preload, env: {SIGNALS_AT: JSON.stringify(signals)}});
	const exited = new Promise(resolve => running.process.once('exit', resolve));
	return {agent, running, exited, credentials: controllerCredentials(controller)};
}

const inProgress = [
	// Unpaired, the agent has no key left to sign a checkpoint of agent.stopped with.
	{frame: {type: 'unpair'}, record: 'agent.unpaired', answer: 'unpaired', logged: 'certificate.unpair', tail: ['agent.unpaired', 'checkpoint', 'agent.stopped']},
	{frame: {type: 'pin', serial: 'ab12cd34'}, record: 'controller.serial-announced', answer: 'pinned', logged: 'certificate.pin', tail: ['controller.serial-announced', 'checkpoint', 'agent.stopped', 'checkpoint']},
];

for (const row of inProgress) {
	test(`a ${row.frame.type} being recorded when SIGTERM comes is finished and answered before agent.stopped`, async t => {
		const setup = await agentWith(`in-${row.frame.type}`, [[`"event":"${row.record}"`, 'SIGTERM']]);
		const reply = await rawExchange(setup.agent.port, {...setup.credentials, send: [requestLine({...row.frame, id: randomUUID(), caller: 'ops'})]});
		t.is(await setup.exited, 0);
		t.is(reply.frames.length, 1, `the controller got its answer: ${JSON.stringify(reply.frames)}`);
		t.is(reply.frames[0]?.['type'], row.answer);
		t.deepEqual(tail(setup.agent, row.record), row.tail);
		t.true(events(setup.running).includes(row.logged));
	});
}

test('an unpair arriving during the stop is refused (busy), nothing deleted or recorded', async t => {
	t.timeout(120_000);
	const directory = temporaryDirectory('xi-exec-stop-unpair-');
	const held = installScript('held', `#!/bin/sh\ntrap "" TERM\necho held\nwhile [ ! -e ${directory}/release ]; do sleep 0.05; done\n`);
	const setup = await agentWith('during-unpair', [], {held});
	const run = rawExchange(setup.agent.port, {...setup.credentials, send: [requestLine({type: 'run', id: randomUUID(), script: 'held', args: [], caller: 'ops'})]});
	await waitFor(() => (events(setup.running).includes('run.start') ? true : undefined), 'the held run to start');
	// A connection open before the stop; its first frame comes during it.
	const socket = connect({host: '127.0.0.1', port: setup.agent.port, ca: [setup.credentials.ca], key: setup.credentials.key, cert: setup.credentials.cert, checkServerIdentity: () => undefined});
	let received = '';
	socket.on('data', (chunk: Buffer) => {
		received += chunk.toString();
	});
	socket.on('error', () => undefined);
	await new Promise(resolve => socket.once('secureConnect', resolve));
	setup.running.process.kill('SIGTERM');
	await waitFor(() => (events(setup.running).includes('stopping') ? true : undefined), 'the agent to log stopping');
	const id = randomUUID();
	socket.write(requestLine({type: 'unpair', id, caller: 'ops'}));
	await waitFor(() => (received.includes('\n') ? true : undefined), 'the answer to the unpair');
	writeFileSync(join(directory, 'release'), '');
	await Promise.all([run, setup.exited]);
	t.like(JSON.parse(received.split('\n')[0]!), {type: 'error', id, code: 'busy', message: 'unpair refused: the agent is stopping; send it again once the agent runs'});
	t.true(existsSync(agentPaths(setup.agent.home).pins), 'the pins are still there');
	t.false(audit(setup.agent).some(record => record.event === 'agent.unpaired'));
	t.like(audit(setup.agent).filter(record => record.event !== 'checkpoint').at(-1), {event: 'agent.stopped', signal: 'SIGTERM'});
	t.like(setup.running.lines.map(line => JSON.parse(line) as Record_).find(line => line.event === 'certificate.refused'), {requestId: id, step: 'unpair', reason: 'the agent is stopping'});
	socket.destroy();
});

test('a reload loading its allowlist when SIGTERM comes puts nothing in force and records nothing after agent.stopped', async t => {
	// Armed once listening (an `exists:` pair does nothing but write a line): start-up reads allowlist.json too.
	const setup = await agentWith('reload-stop', [['"event":"listening"', 'exists:/nonexistent'], ['read:allowlist.json', 'SIGTERM']]);
	const paths = agentPaths(setup.agent.home);
	// An entry with an argument schema: the reload imports its compiler (its one wait); and a tag change to record.
	const allowlist = JSON.parse(readFileSync(paths.allowlist, 'utf8')) as {scripts: Record<string, Record<string, unknown>>};
	allowlist.scripts['with-args'] = {...allowlist.scripts['hello'], args: {type: 'array', maxItems: 1, items: {type: 'string'}}};
	writeFileSync(paths.allowlist, JSON.stringify(allowlist));
	writeAgentConfig(paths, {...readAgentConfig(paths), tags: {role: 'db'}});
	setup.running.process.kill('SIGHUP');
	t.is(await setup.exited, 0);
	const logged = events(setup.running);
	const after = logged.slice(logged.indexOf('stopping'));
	t.deepEqual(after.filter(event => /reload/.test(event)), ['reload.refused'], `after stopping: ${after.join(' ')}`);
	t.like(setup.running.lines.map(line => JSON.parse(line) as Record_).find(line => line.event === 'reload.refused'), {reason: 'the agent is stopping: its files are read again at its next start'});
	t.deepEqual(audit(setup.agent).map(record => record.event).filter(event => event !== 'checkpoint').slice(-1), ['agent.stopped']);
	t.false(audit(setup.agent).some(record => record.event === 'agent.tags'));
});
