/**
 * A run's audit records reach the disk in as few batches (one write and one fsync each) as audit
 * before action allows. Over real agent servers in this process (real certificates, mutual TLS,
 * real shell scripts), each with its real audit log (agent-audit.ts's recorder over file-log.ts)
 * written through a file port that notes what each fsync makes durable and can hold one back:
 *
 * - which records each fsync made durable, per kind of run (a table; the start of a run that
 *   outlives the start's hold is written on its own, while the script still runs);
 * - nothing acts before its record is on the disk: with the fsync of a run's decision held back the
 *   script has not started, and with that of its receipt held back the auth hook was not asked;
 * - a log that cannot be written refuses the run with the exact reason, and nothing runs;
 * - the head each result carries is the checkpoint that seals that run's end (what the
 *   controller's witness checks), and the log verifies (`xi-exec-agent audit verify`).
 *
 * Needs root (the scripts are root's, as the agent's walk requires).
 */
import {randomUUID} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentSigner, recorderFor} from '../../agent/agent-audit.js';
import {loadHookFile} from '../../agent/auth-hook.js';
import {agentPaths} from '../../agent/home.js';
import {ownersFor} from '../../agent/owners.js';
import type {Owners} from '../../agent/allowlist.js';
import type {AgentServer} from '../../agent/server.js';
import {openAuditLog, type AuditLog} from '../../source/audit/file-log.js';
import {nodeFs, type DurableFs} from '../../source/io/durable-fs.js';
import {agentCli, controllerCredentials, createController, rawExchange, requestLine, runCli, temporaryDirectory} from '../helpers/fleet.js';
import {baseDirectory, executable} from '../security/agent-run.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.skip;
if (!isRoot) {
	test('run records: skipped', t => {
		t.log(`SKIPPED: this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent's scripts must be root's`);
		t.pass();
	});
}

type Line = Record<string, unknown> & {event: string; seq: number; hash: string};

/** What each fsync of the log made durable; an fsync held back until the test lets it go; writes that fail. */
type Disk = {batches: Line[][]; hold?: {id: string; event: string; released: Promise<void>; reached: () => void}; failing: Set<string>};

/** The real file port, noting each fsync's new lines (read back from the file) and failing writes that carry a failing request id. */
function notingFs(path: string, disk: Disk): DurableFs {
	let seen = 0;
	return {
		...nodeFs,
		write(fd, data) {
			if ([...disk.failing].some(id => data.includes(id))) {
				throw Object.assign(new Error('EIO: i/o error, write'), {code: 'EIO'});
			}

			return nodeFs.write(fd, data);
		},
		async fsyncInPool(fd) {
			const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Line);
			const batch = lines.slice(seen);
			seen = lines.length;
			disk.batches.push(batch);
			const {hold} = disk;
			if (hold && batch.some(line => line['requestId'] === hold.id && line.event === hold.event)) {
				hold.reached();
				await hold.released;
			}

			await nodeFs.fsyncInPool(fd);
		},
	};
}

type Agent = {server: AgentServer; log: AuditLog; home: string; disk: Disk};
type Setup = {plain: Agent; hooked: Agent; credentials: ReturnType<typeof controllerCredentials>; marks: string};
let setup: Setup | undefined;

async function startAgent(controllerHome: string, name: string, scripts: Record<string, string>, hook?: string): Promise<Agent> {
	const disk: Disk = {batches: [], failing: new Set()};
	let log: AuditLog | undefined;
	const {server, home} = await inProcessAgent(controllerHome, name, scripts, async paths => {
		mkdirSync(paths.auditDirectory, {recursive: true, mode: 0o700});
		log = openAuditLog({path: paths.auditLog, side: 'agent', signer: agentSigner(paths), fs: notingFs(paths.auditLog, disk)});
		await log.hold();
		return {
			// A start is held 200 ms here (1 s in the product), so that the long row stays short.
			recorder: recorderFor(log, name, 200),
			...(hook ? {hook: {command: hook, timeoutMs: 60_000, file: loadHookFile(hook, ownersFor(undefined) as Owners)}} : {}),
		};
	});
	return {server, log: log!, home, disk};
}

test.before(async () => {
	if (!isRoot) {
		return;
	}

	const directory = baseDirectory('xi-exec-run-records-');
	const marks = temporaryDirectory('xi-exec-run-records-marks-');
	// Each leaves a mark named by its first argument (the hook: by the request id it is asked about).
	const scripts = {
		mark: executable(join(directory, 'mark'), '#!/bin/sh\n: > "$1"\necho ran\n'),
		long: executable(join(directory, 'long'), '#!/bin/sh\n: > "$1"\nsleep 0.6\necho ran\n'),
	};
	const hook = executable(join(directory, 'hook'), `#!/bin/sh\nid=$(sed -n 's/.*"requestId":"\\([^"]*\\)".*/\\1/p')\n: > "${marks}/hook-$id"\n`);
	const controllerHome = await createController();
	const [plain, hooked] = await Promise.all([startAgent(controllerHome, 'records1', scripts), startAgent(controllerHome, 'records2', scripts, hook)]);
	setup = {plain: plain!, hooked: hooked!, credentials: controllerCredentials(controllerHome), marks};
});

test.after.always(async () => {
	for (const agent of [setup?.plain, setup?.hooked]) {
		await agent?.server.close();
		await agent?.log.close();
	}
});

function ready(): Setup {
	if (!setup) {
		throw new Error('the agents did not start');
	}

	return setup;
}

type Ran = {id: string; mark: string; result: Record<string, unknown> | undefined; batches: string[][]};

/** One run; the fsyncs that made its records durable, each as its events (a checkpoint counts when it shares a batch with them). */
async function run(agent: Agent, script: string, fields: Record<string, unknown> = {}, id = randomUUID()): Promise<Ran> {
	const {credentials, marks} = ready();
	const mark = join(marks, `${script}-${id}`);
	const from = agent.disk.batches.length;
	const reply = await rawExchange(agent.server.address().port, {...credentials, send: [requestLine({type: 'run', id, script, args: [mark], caller: 'ops', ...fields})]});
	const ours = agent.disk.batches.slice(from).filter(batch => batch.some(line => line['requestId'] === id));
	return {id, mark, result: reply.frames.find(frame => frame['type'] === 'result'), batches: ours.map(batch => batch.filter(line => line['requestId'] === id || line.event === 'checkpoint').map(line => line.event))};
}

const rows: Array<{title: string; on: 'plain' | 'hooked'; script: string; fields?: Record<string, unknown>; status: string; batches: string[][]}> = [
	{title: 'a run', on: 'plain', script: 'mark', status: 'ok', batches: [['request.received', 'decision'], ['run.start', 'run.finish', 'checkpoint']]},
	{title: 'a dry run', on: 'plain', script: 'mark', fields: {dryRun: true}, status: 'ok', batches: [['request.received', 'decision']]},
	{title: 'a script not allowlisted', on: 'plain', script: 'nosuch', status: 'denied', batches: [['request.received'], ['run.refused']]},
	{title: 'a run with a hook', on: 'hooked', script: 'mark', status: 'ok', batches: [['request.received'], ['decision'], ['run.start', 'run.finish', 'checkpoint']]},
	{title: 'a run longer than the start is held', on: 'plain', script: 'long', status: 'ok', batches: [['request.received', 'decision'], ['run.start'], ['run.finish', 'checkpoint']]},
];

for (const row of rows) {
	rootTest(`records on the disk, fsync by fsync: ${row.title}`, async t => {
		const agent = ready()[row.on];
		const ran = await run(agent, row.script, row.fields);
		t.is(ran.result?.['status'], row.status, JSON.stringify(ran.result));
		t.deepEqual(ran.batches, row.batches);
		const head = ran.result?.['agentHead'] as {seq: number; hash: string} | undefined;
		if (row.batches.at(-1)?.includes('checkpoint')) {
			// The witnessed head {seq: N, hash} names record N-1: this run's end.
			const lines = readFileSync(agentPaths(agent.home).auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Line);
			t.like(lines[head!.seq - 1], {event: 'run.finish', requestId: ran.id, hash: head!.hash});
			t.is(lines[head!.seq]?.event, 'checkpoint');
		}
	});
}

/** Runs with the fsync of `event`'s batch held back; `during` sees the moment it is held. */
async function heldBack(agent: Agent, script: string, event: string, during: (id: string) => Promise<void>): Promise<Ran> {
	const id = randomUUID();
	let reached!: () => void;
	let release!: () => void;
	const isReached = new Promise<void>(resolve => {
		reached = resolve;
	});
	agent.disk.hold = {id, event, reached, released: new Promise(resolve => {
		release = resolve;
	})};
	const pending = run(agent, script, {}, id);
	await isReached;
	try {
		await during(id);
	} finally {
		release();
		agent.disk.hold = undefined;
	}

	return pending;
}

rootTest('the script starts only once its decision is on the disk', async t => {
	const {plain, marks} = ready();
	const ran = await heldBack(plain, 'mark', 'decision', async id => {
		// A negative: given time to start, it has not.
		await new Promise(resolve => setTimeout(resolve, 400));
		t.false(existsSync(join(marks, `mark-${id}`)), 'the script has not started while its decision is not durable');
	});
	t.is(ran.result?.['status'], 'ok');
	t.true(existsSync(ran.mark), 'it ran once the fsync returned');
});

rootTest('the auth hook is asked only once the request\'s receipt is on the disk', async t => {
	const {hooked, marks} = ready();
	const ran = await heldBack(hooked, 'mark', 'request.received', async id => {
		await new Promise(resolve => setTimeout(resolve, 400));
		t.false(existsSync(join(marks, `hook-${id}`)), 'the hook has not been asked while the receipt is not durable');
	});
	t.is(ran.result?.['status'], 'ok');
	t.true(existsSync(join(marks, `hook-${ran.id}`)), 'the hook was asked once the fsync returned');
});

for (const on of ['plain', 'hooked'] as const) {
	rootTest(`a log that cannot be written refuses the run, and nothing runs (${on === 'plain' ? 'no hook' : 'a hook'})`, async t => {
		const agent = ready()[on];
		const {marks} = ready();
		const id = randomUUID();
		agent.disk.failing.add(id);
		try {
			const ran = await run(agent, 'mark', {}, id);
			t.like(ran.result, {status: 'error', reason: `refused: the agent cannot write its audit log (Cannot write the audit log ${agentPaths(agent.home).auditLog} (EIO); refusing to act without a record.)`});
			t.deepEqual(ran.batches, []);
			t.false(existsSync(ran.mark), 'the script did not run');
			t.false(existsSync(join(marks, `hook-${id}`)), 'the hook was not asked');
		} finally {
			agent.disk.failing.delete(id);
		}

		const after = await run(agent, 'mark');
		t.is(after.result?.['status'], 'ok', 'the next run is recorded and runs');
	});
}

rootTest('each log verifies after all of the above', async t => {
	for (const agent of [ready().plain, ready().hooked]) {
		await agent.log.checkpoint();
		const verified = await runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
		t.is(verified.code, 0, verified.stdout + verified.stderr);
		t.regex(verified.stdout, /^ok: \d+ records, chain intact/);
	}
});
