/**
 * The writer probe (writer-check.ts) is asked just before the start and asynchronously, over a
 * real agent server in this process (real certificates, mutual TLS, a real Python script) whose
 * probe is a port the test holds open:
 *
 * - while the probe of one run is in flight, the agent serves other connections (a description,
 *   and a shell script's run, which needs no probe) to their end; the held run then runs once the
 *   probe answers "no writer";
 * - a probe that answers with a reason refuses the run with exactly that reason, after the
 *   policy's decision and before anything started, and the audit records say so;
 * - the probe is asked only after the policy (the hook, here none) and the slot: last before the
 *   start, for the files the interpreter reads from its file (a shell's copy is not asked about).
 *
 * That the kernel's own probe still refuses a real writer is in interpreters.test.ts (a writer
 * opened before load), neighbours.test.ts (a writer opened while the hook holds the run) and
 * test/agent/script-sources.test.ts (the probe alone). Needs root (the scripts are root's).
 */
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import test from 'ava';
import type {AgentRecorder} from '../../agent/run-context.js';
import type {AgentServer} from '../../agent/server.js';
import {controllerCredentials, createController, rawExchange, requestLine, waitFor} from '../helpers/fleet.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';
import {baseDirectory, executable} from './agent-run.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.skip;
if (!isRoot) {
	test('writer probe: skipped', t => {
		t.log(`SKIPPED: this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent's scripts must be root's`);
		t.pass();
	});
}

type Held = {fd: number; shown: string; answer: (problem: string | undefined) => void};

const held: Held[] = [];
const records: Array<Record<string, unknown> & {event: string}> = [];
const recorder: AgentRecorder = {
	async record(event, fields) {
		records.push({event, ...fields});
	},
	signedHead: () => undefined,
};

type Setup = {agent: AgentServer; credentials: ReturnType<typeof controllerCredentials>; paths: Record<string, string>};
let setup: Setup | undefined;

test.before(async () => {
	if (!isRoot) {
		return;
	}

	const directory = baseDirectory('xi-exec-writer-probe-');
	const paths = {
		py: executable(join(directory, 'py'), '#!/usr/bin/python3\nimport sys\nprint("python ran", *sys.argv[1:])\n'),
		sh: executable(join(directory, 'sh'), '#!/bin/sh\necho "shell ran $*"\n'),
	};
	const controllerHome = await createController();
	const {server: agent} = await inProcessAgent(controllerHome, 'probe1', paths, {
		recorder,
		writerProbe: async (fd, shown) => new Promise(resolve => {
			held.push({fd, shown, answer: resolve});
		}),
	});
	setup = {agent, credentials: controllerCredentials(controllerHome), paths};
});

test.after.always(async () => {
	await setup?.agent.close();
});

function ready(): Setup {
	if (!setup) {
		throw new Error('the agent did not start');
	}

	return setup;
}

type Ran = {id: string; status: unknown; reason: unknown; stdout: string; events: string[]; last: Record<string, unknown> | undefined};

const eventsOf = (id: string) => records.filter(record => record['requestId'] === id).map(record => record.event);

async function run(script: string, args: string[] = [], id = randomUUID()): Promise<Ran> {
	const {agent, credentials} = ready();
	const reply = await rawExchange(agent.address().port, {...credentials, send: [requestLine({type: 'run', id, script, args, caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	return {id, status: result?.['status'], reason: result?.['reason'], stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => String(frame['data'])).join(''), events: eventsOf(id), last: records.filter(record => record['requestId'] === id).at(-1)};
}

const nextProbe = async (from: number): Promise<Held> => waitFor(() => held[from], 'the agent to ask the writer probe');

rootTest('while a run\'s writer probe is in flight, the agent serves other connections to their end; the run starts once the probe answers', async t => {
	const {agent, credentials, paths} = ready();
	const from = held.length;
	let settled = false;
	const id = randomUUID();
	const pending = run('py', ['held'], id).finally(() => {
		settled = true;
	});
	const probe = await nextProbe(from);
	t.is(probe.shown, paths['py']!, 'asked about the script Python reads from its file');

	const description = await rawExchange(agent.address().port, {...credentials, send: [requestLine({type: 'describe'})]});
	t.like(description.frames[0], {type: 'description', agent: {name: 'probe1'}}, 'a description is answered meanwhile');
	const shell = await run('sh', ['meanwhile']);
	t.like(shell, {status: 'ok', stdout: 'shell ran meanwhile\n'}, 'a shell script (a private copy: no probe) runs to its end meanwhile');
	t.deepEqual(shell.events, ['request.received', 'decision', 'run.start', 'run.finish']);
	t.is(held.length, from + 1, 'only the Python script was asked about');
	t.false(settled, 'the probed run is still waiting for its probe');
	t.deepEqual(eventsOf(id), ['request.received', 'decision'], 'the policy decided before the probe: the probe is the last step before the start');

	probe.answer(undefined);
	const outcome = await pending;
	t.like(outcome, {status: 'ok', stdout: 'python ran held\n'});
	t.deepEqual(outcome.events, ['request.received', 'decision', 'run.start', 'run.finish']);
});

rootTest('a probe that finds a writer refuses the run with its reason, after the decision and before anything started', async t => {
	const {paths} = ready();
	const from = held.length;
	const pending = run('py', ['refused']);
	const probe = await nextProbe(from);
	const problem = `${paths['py']!} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${paths['py']!} names the process), then run again`;
	probe.answer(problem);
	const outcome = await pending;
	const reason = `script py is refused: ${problem}`;
	t.like(outcome, {status: 'denied', reason, stdout: ''});
	t.deepEqual(outcome.events, ['request.received', 'decision', 'run.refused']);
	t.like(outcome.last, {event: 'run.refused', script: 'py', status: 'denied', reason});
});
