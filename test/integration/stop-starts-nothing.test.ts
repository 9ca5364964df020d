/**
 * A stop (SIGTERM) means no new execution starts. Real built agent (dist), real scripts, mutual TLS.
 * 7361576 made a run frame that arrives during the stop cancelled and waited for, but with a free
 * slot RunSlots.acquire handed it a slot before it looked at the abort, and the script was started
 * (run.start recorded, `started` sent) and only then signalled. Same for a run the stop found
 * between its receipt and its start (in its auth hook): aborted by the stop, it still started
 * once the hook allowed it (that row failed on main too; since the stop kills the hook, it is the
 * last row's). Now neither starts: the controller gets `cancelled`, exit null,
 * "stopped before it started: the agent is shutting down (not a cancel); nothing ran", and the
 * agent's audit holds run.refused with that reason, no run.start, before agent.stopped. And the
 * stop does not wait for a hook still being asked (it waited up to the hook's deadline: askHook
 * took no abort): the hook's process group is killed, the run refused the same way, no decision.
 *
 * Nothing is timed: the run the stop waits for ignores SIGTERM and ends only when the test
 * creates its release file; the hook answers only when the test creates the hook's.
 */
import {randomUUID} from 'node:crypto';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {connect, type TLSSocket} from 'node:tls';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, freePort, installScript, rawExchange, requestLine, setAgentLimits, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const notStarted = 'stopped before it started: the agent is shutting down (not a cancel); nothing ran';

type Frame = Record<string, unknown>;
type Fleet = {agent: TestAgent; running: RunningAgent; credentials: ReturnType<typeof controllerCredentials>; directory: string};

async function fleet(name: string, options: {hook?: boolean} = {}): Promise<Fleet> {
	const directory = temporaryDirectory('xi-exec-stop-start-');
	const controller = await createController();
	// Ignores SIGTERM and ends when the test says so: the stop waits for it as long as the test needs.
	const held = installScript('held', `#!/bin/sh\ntrap "" TERM\necho held\nwhile [ ! -e ${directory}/release ]; do sleep 0.05; done\n`);
	const touch = installScript('touch-marker', `#!/bin/sh\ntrap "" TERM\ntouch ${directory}/ran-$1\n`);
	const agent = await enrolAgent(controller, {name, port: freePort(), scripts: {held, touch}});
	// A long grace: the held run is ended by its release file, never by SIGKILL within the test.
	setAgentLimits(agent, {killGraceMs: 60_000});
	if (options.hook) {
		// Allows everything but the touch run, which it holds until the test creates hook-go.
		const hook = installScript('hook', `#!/bin/sh\ninput=$(cat)\ncase "$input" in *'"script":"touch"'*) echo $$ > ${directory}/hook-asked; while [ ! -e ${directory}/hook-go ]; do sleep 0.05; done;; esac\necho '{"allow":true}'\n`);
		const paths = agentPaths(agent.home);
		writeAgentConfig(paths, {...readAgentConfig(paths), hook, hookTimeoutMs: 120_000});
	}

	const running = await startAgent(agent);
	return {agent, running, credentials: controllerCredentials(controller), directory};
}

function audit(agent: TestAgent): Frame[] {
	return readFileSync(agentPaths(agent.home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Frame);
}

/** Starts the held run and resolves once the agent says it started. */
async function holdARun(fleet: Fleet): Promise<{done: Promise<unknown>}> {
	const id = randomUUID();
	const done = rawExchange(fleet.agent.port, {...fleet.credentials, send: [requestLine({type: 'run', id, script: 'held', args: [], caller: 'ops'})]});
	await waitFor(() => (fleet.running.lines.some(line => line.includes('"event":"run.start"') && line.includes(id)) ? true : undefined), 'the held run to start');
	return {done};
}

/** A connection that stays open after its first frame: frames read as they come. */
async function openConnection(fleet: Fleet): Promise<{socket: TLSSocket; frames: () => Frame[]}> {
	const socket = connect({host: '127.0.0.1', port: fleet.agent.port, ca: [fleet.credentials.ca], key: fleet.credentials.key, cert: fleet.credentials.cert, checkServerIdentity: () => undefined});
	let received = '';
	socket.on('data', (chunk: Buffer) => {
		received += chunk.toString();
	});
	socket.on('error', () => undefined);
	await new Promise(resolve => socket.once('secureConnect', resolve));
	return {socket, frames: () => received.split('\n').filter(Boolean).map(line => JSON.parse(line) as Frame)};
}

async function stopAgent(fleet: Fleet): Promise<{exited: Promise<unknown>}> {
	const exited = new Promise(resolve => fleet.running.process.once('exit', resolve));
	fleet.running.process.kill('SIGTERM');
	await waitFor(() => (fleet.running.lines.some(line => line.includes('"event":"stopping"')) ? true : undefined), 'the agent to log stopping');
	return {exited};
}

function checkNothingStarted(t: {deepEqual: (a: unknown, b: unknown, m?: string) => void; like: (a: unknown, b: Frame, m?: string) => void; false: (a: boolean, m?: string) => void}, fleet: Fleet, id: string, frames: Frame[]): void {
	t.deepEqual(frames.filter(frame => frame['id'] === id).map(frame => frame['type']), ['result'], 'no started frame, one result');
	t.like(frames.find(frame => frame['type'] === 'result'), {status: 'cancelled', exitCode: null, reason: notStarted});
	const records = audit(fleet.agent);
	const own = records.filter(record => record['requestId'] === id);
	t.deepEqual(own.map(record => record['event']), ['request.received', 'decision', 'run.refused']);
	t.like(own.at(-1), {event: 'run.refused', script: 'touch', status: 'cancelled', reason: notStarted});
	t.like(records.filter(record => record['event'] !== 'checkpoint').at(-1), {event: 'agent.stopped', signal: 'SIGTERM'}, 'agent.stopped last');
	t.false(existsSync(join(fleet.directory, `ran-${id}`)), 'the script never ran');
}

test('a run frame arriving during a stop, a slot free, is refused unstarted (no run.start, no started frame)', async t => {
	t.timeout(120_000);
	const setup = await fleet('stop-arrives');
	const {done: held} = await holdARun(setup);
	const open = await openConnection(setup);
	open.socket.write(requestLine({type: 'describe', id: randomUUID(), caller: 'ops', keepOpen: true}));
	await waitFor(() => (open.frames().some(frame => frame['openForRun'] === true) ? true : undefined), 'the description kept open');

	const {exited} = await stopAgent(setup);
	const id = randomUUID();
	open.socket.write(requestLine({type: 'run', id, script: 'touch', args: [id], caller: 'ops'}));
	await waitFor(() => (open.frames().some(frame => frame['type'] === 'result') ? true : undefined), 'the touch run\'s result');
	writeFileSync(join(setup.directory, 'release'), '');
	await Promise.all([held, exited]);
	checkNothingStarted(t, setup, id, open.frames());
	open.socket.destroy();
});

test('a stop does not wait for the auth hook\'s deadline: the hook is killed and the run refused unstarted, no decision', async t => {
	t.timeout(120_000);
	const setup = await fleet('stop-kills-hook', {hook: true});
	// Safety net only: a hook left waiting (the code before) must not outlive the test.
	t.teardown(() => writeFileSync(join(setup.directory, 'hook-go'), ''));
	const id = randomUUID();
	const open = await openConnection(setup);
	open.socket.write(requestLine({type: 'run', id, script: 'touch', args: [id], caller: 'ops'}));
	const asked = join(setup.directory, 'hook-asked');
	const hookPid = await waitFor(() => (existsSync(asked) && readFileSync(asked, 'utf8').trim() !== '' ? readFileSync(asked, 'utf8').trim() : undefined), 'the hook to be asked about the touch run');
	const {exited} = await stopAgent(setup);
	// The hook is never told to answer (hookTimeoutMs 120 s): the result comes from the stop.
	await waitFor(() => (open.frames().some(frame => frame['type'] === 'result') ? true : undefined), 'the touch run\'s result, without the hook\'s answer', {giveUpMs: 30_000});
	await exited;
	t.like(open.frames().find(frame => frame['type'] === 'result'), {status: 'cancelled', exitCode: null, reason: notStarted});
	const own = audit(setup.agent).filter(record => record['requestId'] === id);
	t.deepEqual(own.map(record => record['event']), ['request.received', 'run.refused']);
	t.like(own.at(-1), {status: 'cancelled', reason: notStarted});
	t.like(audit(setup.agent).filter(record => record['event'] !== 'checkpoint').at(-1), {event: 'agent.stopped', signal: 'SIGTERM'});
	t.false(existsSync(`/proc/${hookPid}`), 'the hook\'s process is gone');
	open.socket.destroy();
});
