/**
 * Server-Sent Events in bounded memory (run-replay.ts, run-follow.ts): a replay rebuilt a line at
 * a time gives the events the whole-file replay gave (a table: interleaved hosts, multi-byte
 * output, a host without a result, a torn last line, no end line); past the held limit a host's
 * result comes without its output and says how much; followers joining a live run at its start,
 * in its middle and near its end, read fast or slowly (falling behind and catching up from the
 * file), each get every event exactly once in order; and a follower of a 40 MiB run, joining
 * midway, and its replay run in a node whose heap is limited to 24 MiB, where reading the history
 * whole runs out of memory (counted by the heap limit and the events, not timed).
 */
import {execFile} from 'node:child_process';
import {existsSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import type {HistoryLine} from '../../source/history/run-record.js';
import {runDurationMs} from '../../source/history/run-record.js';
import {createHeldOutput, missedOmittedReason, replayHistory, replayOmittedReason} from '../../source/api/run-replay.js';
import {createLiveRuns} from '../../source/api/run-events.js';
import {followRunEvents, type FollowGap} from '../../source/api/run-follow.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';
import {dryRunAnswer} from '../../source/run/dry-run-document.js';
import {findRunFile} from '../../source/api/run-event-stream.js';
import {readLines} from '../../source/history/read-lines.js';
import {runEvents, simulatedRequestId, simulateFollowers} from './follow-sim.js';

/** The replay as it was: the whole file's lines, every host's output held to the end. */
function wholeReplay(lines: readonly string[]): RunEvent[] {
	const events: RunEvent[] = [];
	const output = new Map<string, {stdout: string; stderr: string}>();
	for (const text of lines) {
		let line: HistoryLine;
		try {
			line = JSON.parse(text) as HistoryLine;
		} catch {
			continue;
		}

		if (line.type === 'run') {
			events.push({type: 'run-started', requestId: line.requestId, script: line.script, args: line.args, targets: line.targets, startedAt: line.startedAt});
		} else if (line.type === 'output') {
			const streams = output.get(line.agent) ?? {stdout: '', stderr: ''};
			streams[line.stream] += line.data;
			output.set(line.agent, streams);
			events.push({type: 'agent-output', agent: line.agent, stream: line.stream, data: line.data});
		} else if (line.type === 'result') {
			events.push({type: 'agent-finished', result: {...line.result, ...(output.get(line.result.agent) ?? {stdout: '', stderr: ''})}});
		} else {
			const started = events[0];
			const times = started?.type === 'run-started' && started.startedAt !== undefined ? {endedAt: line.endedAt, durationMs: runDurationMs(started.startedAt, line.endedAt)} : {};
			events.push({type: 'run-finished', requestId: started?.type === 'run-started' ? started.requestId : '', ...times});
		}
	}

	return events;
}

const requestId = '00000000-0000-4000-8000-0000000000cc';
const header = JSON.stringify({type: 'run', requestId, script: 's', args: ['a'], selector: ['all'], caller: 'api:t', startedAt: '2026-01-01T00:00:00.000Z', targets: ['web1', 'web2', 'web3']});
const output = (agent: string, data: string, stream: 'stdout' | 'stderr' = 'stdout') => JSON.stringify({type: 'output', agent, stream, data});
const result = (agent: string) => JSON.stringify({type: 'result', result: {agent, status: 'ok', exitCode: 0, signal: null, truncated: false, durationMs: 3}});
const end = JSON.stringify({type: 'end', endedAt: '2026-01-01T00:00:02.500Z'});

const runs: Array<[string, string[]]> = [
	['interleaved hosts, both streams', [header, output('web1', 'a\n'), output('web2', 'b\n', 'stderr'), output('web1', 'c\n', 'stderr'), result('web2'), output('web1', 'd'), result('web1'), result('web3'), end]],
	['multi-byte and control characters', [header, output('web1', 'é😀\u001b[31m\r\n'), output('web2', 'ü'.repeat(300)), result('web1'), result('web2'), end]],
	['a host without a result, no end line', [header, output('web1', 'x'), result('web2'), output('web3', 'y')]],
	['a torn last line', [header, output('web1', 'x'), result('web1'), '{"type":"output","agent":"web2","str']],
	['a header only', [header]],
];

for (const [name, lines] of runs) {
	test(`a replay line by line gives the whole-file replay's events: ${name}`, t => {
		t.deepEqual(replayHistory(lines), wholeReplay(lines));
	});
}

test('past the held limit, a host\'s result comes without its output, saying how much; the others, and every output event, are unchanged', t => {
	const big = 'é'.repeat(600); // 1,200 bytes
	const lines = [header, output('web1', big), output('web2', big), output('web3', 'small'), output('web2', big, 'stderr'), result('web1'), result('web2'), output('web3', big), result('web3'), end];
	const bounded = replayHistory(lines, {heldLimitBytes: 3000});
	const whole = wholeReplay(lines);
	t.is(bounded.length, whole.length);
	const finished = (events: RunEvent[]) => events.filter(event => event.type === 'agent-finished').map(event => event.result);
	const [web1, web2, web3] = finished(bounded) as [AgentResult, AgentResult, AgentResult];
	t.deepEqual(web1, finished(whole)[0]);
	t.deepEqual(web2, {...finished(whole)[1]!, stdout: '', stderr: '', outputOmitted: {stdoutBytes: 1200, stderrBytes: 1200, reason: replayOmittedReason, result: `/v1/runs/${requestId}?agent=web2`}});
	t.deepEqual(web3, finished(whole)[2], 'web2\'s held output was let go, and web1\'s at its result');
	t.deepEqual(bounded.filter(event => event.type !== 'agent-finished'), whole.filter(event => event.type !== 'agent-finished'));
	t.true(replayOmittedReason.length <= 200);
});

const cases = [
	{title: 'read at once', readPerTurn: Number.POSITIVE_INFINITY},
	{title: 'read slowly, falling behind the live run and catching up from the file', readPerTurn: 2000, liveBehindBytes: 4096},
];

for (const c of cases) {
	test(`followers joining at the start, midway and near the end each get every event once, in order: ${c.title}`, async t => {
		const directory = join(temporaryDirectory(), 'runs');
		const run = {hosts: 12, chunks: 6, chunkBytes: 700, parallel: 3};
		const {emitted, reports} = await simulateFollowers({run, directory, joinAt: [0, 1, 2, 40, 90, 108], readPerTurn: c.readPerTurn, ...(c.liveBehindBytes ? {liveBehindBytes: c.liveBehindBytes} : {})});
		t.is(reports.length, 6);
		for (const report of reports) {
			t.like(report, {events: emitted, outOfOrder: 0, finished: run.hosts, omitted: 0, outputBytes: run.hosts * run.chunks * run.chunkBytes});
		}
	});
}

test('a live agent-finished holds its output as the replay does: past the held limit it comes with outputOmitted, the same result live, caught up and replayed', async t => {
	const directory = join(temporaryDirectory(), 'runs');
	// Three hosts at a time, each printing 2,800 bytes: 8,400 would be held at once, past the limit of 5,000.
	const run = {hosts: 6, chunks: 4, chunkBytes: 700, parallel: 3};
	const {reports} = await simulateFollowers({run, directory, joinAt: [0, 20], readPerTurn: Number.POSITIVE_INFINITY, heldLimitBytes: 5000, keepResults: true});
	const replayed = replayHistory(readLines(findRunFile(directory, simulatedRequestId)!), {heldLimitBytes: 5000}).flatMap(event => (event.type === 'agent-finished' ? [event.result] : []));
	const omitted = replayed.filter(result => result.outputOmitted).map(result => result.agent);
	t.deepEqual(omitted, ['web2', 'web3', 'web5', 'web6']);
	t.like(replayed[1], {stdout: '', stderr: '', outputOmitted: {stdoutBytes: 1400, stderrBytes: 1400, reason: replayOmittedReason, result: `/v1/runs/${simulatedRequestId}?agent=web2`}});
	for (const report of reports) {
		t.deepEqual(report.results, replayed);
	}
});

/** What a live follower whose catch-up missed `before` gets for the host's result: its hold saw only `after` (and never the result's stderr, not sent as events here). */
function heldAfterMissing(before: string[], after: string[], stderr: string, heldLimitBytes: number): AgentResult | undefined {
	const held = createHeldOutput({heldLimitBytes});
	held({type: 'run-started', requestId, script: 's', args: [], targets: ['web1'], startedAt: '2026-01-01T00:00:00.000Z'}, true);
	for (const data of after) {
		held({type: 'agent-output', agent: 'web1', stream: 'stdout', data}, true);
	}

	const finished = held({type: 'agent-finished', result: {agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout: [...before, ...after].join(''), stderr, truncated: false, durationMs: 3}}, true);
	return finished.type === 'agent-finished' ? finished.result : undefined;
}

const missed = [
	{title: 'all of it missed', before: ['hello\n'], after: [], stderr: 'é', limit: 5000, stdout: 'hello\n'},
	{title: 'its first part missed', before: ['hello\n'], after: ['world\n'], stderr: 'é', limit: 5000, stdout: 'hello\nworld\n'},
	{title: 'past the held limit', before: ['x'.repeat(4000)], after: ['y'.repeat(1000)], stderr: 'é', limit: 5000, omitted: {stdoutBytes: 5000, stderrBytes: 2, reason: missedOmittedReason, result: `/v1/runs/${requestId}?agent=web1`}},
	{title: 'none missed, past the limit as it came', before: [], after: ['x'.repeat(4000), 'y'.repeat(1000)], stderr: '', limit: 4500, omitted: {stdoutBytes: 5000, stderrBytes: 0, reason: replayOmittedReason, result: `/v1/runs/${requestId}?agent=web1`}},
];

for (const c of missed) {
	test(`a live result whose host's output events were not all seen gets the live result's output or outputOmitted, never less as if it were all: ${c.title}`, t => {
		const result = heldAfterMissing(c.before, c.after, c.stderr, c.limit);
		if (c.omitted) {
			t.like(result, {stdout: '', stderr: '', outputOmitted: c.omitted});
		} else {
			t.like(result, {stdout: c.stdout, stderr: c.stderr});
			t.is(result?.outputOmitted, undefined);
		}
	});
}

/** A follower joining a live run after `before` whose history file cannot be opened (EMFILE, pruned; here: not there): what it was sent, and the gap it answers. */
async function followWithoutHistory(before: RunEvent[]): Promise<{sent: string[]; gap: FollowGap | undefined}> {
	const live = createLiveRuns();
	const run = live.begin({requestId, script: 's', targets: ['web1']});
	run.emit({type: 'run-started', requestId, script: 's', args: [], targets: ['web1'], startedAt: '2026-01-01T00:00:00.000Z'});
	for (const event of before) {
		run.emit(event);
	}

	const sent: string[] = [];
	const following = followRunEvents({file: () => join(temporaryDirectory(), 'missing', 'history.jsonl'), follow: listener => live.follow(requestId, listener), closed: new AbortController().signal}, {
		send(event, id) {
			sent.push(`${id} ${event.type}`);
			return true;
		},
		unread: () => 0,
		drained: async () => undefined,
	});
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	run.emit({type: 'agent-finished', result: {agent: 'web1', status: 'ok', exitCode: 0, signal: null, stdout: 'hello\n', stderr: '', truncated: false, durationMs: 3}});
	run.emit({type: 'run-finished', requestId});
	return {sent, gap: await following};
}

const outputEvent: RunEvent = {type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'hello\n'};
const gaps = [
	{title: 'an output event missed', before: [outputEvent], missed: 1},
	{title: 'a host\'s result missed', before: [{type: 'agent-finished', result: {agent: 'web2', status: 'ok', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 3}} satisfies RunEvent], missed: 1},
	{title: 'only transient events before it', before: [{type: 'agent-connecting', agent: 'web1'} satisfies RunEvent], sent: ['0 run-started', '0.1 agent-connecting', '1 agent-finished', '2 run-finished']},
];

for (const c of gaps) {
	test(`a live follower whose history file cannot be opened stops and says so, sending nothing, rather than go live with a gap; none missed, it goes live: ${c.title}`, async t => {
		const {sent, gap} = await followWithoutHistory(c.before);
		if (c.missed) {
			t.deepEqual(sent, []);
			t.deepEqual(gap, {missed: c.missed, why: 'could not be opened (ENOENT)'});
		} else {
			t.deepEqual(sent, c.sent);
			t.is(gap, undefined);
		}
	});
}

/** A replay (no live run) of the history file `file()`: what it sent, and the gap it answers. */
async function replayOf(file: () => string | undefined): Promise<{sent: string[]; gap: FollowGap | undefined}> {
	const sent: string[] = [];
	const gap = await followRunEvents({file, closed: new AbortController().signal}, {
		send(event, id) {
			sent.push(`${id} ${event.type}`);
			return true;
		},
		unread: () => 0,
		drained: async () => undefined,
	});
	return {sent, gap};
}

test('a replay whose history file is there but cannot be opened sends nothing and answers why (the stream ends with an error event), not an empty run', async t => {
	const directory = temporaryDirectory();
	// A socket where the history file is: found by name, but open(2) fails (ENXIO), as EMFILE or EACCES would.
	const socket = join(directory, `2026-01-01T00-00-00.000Z_${requestId}.jsonl`);
	const server = createServer();
	await new Promise<void>(resolve => {
		server.listen(socket, resolve);
	});
	t.teardown(() => server.close());
	t.deepEqual(await replayOf(() => socket), {sent: [], gap: {why: 'could not be opened (ENXIO)', code: 'ENXIO'}});
	t.deepEqual(await replayOf(() => join(directory, 'pruned.jsonl')), {sent: [], gap: {why: 'could not be opened (ENOENT)', code: 'ENOENT'}}, 'removed between finding and opening');
	t.deepEqual(await replayOf(() => undefined), {sent: [], gap: undefined}, 'no file at all (a dry run that has just ended) is no gap');
});

test('a dry run\'s late followers get every host\'s result, exactly once and in order, from the results the live run keeps (it has no history file)', async t => {
	const run = {hosts: 9, chunks: 0, chunkBytes: 0, parallel: 3, dryRun: true};
	const events = [...runEvents(run)];
	const answers = events.flatMap(event => (event.type === 'agent-finished' ? [dryRunAnswer(event.result)] : []));
	for (const c of cases) {
		const directory = join(temporaryDirectory(), 'runs');
		const {emitted, reports} = await simulateFollowers({run, directory, joinAt: [0, 1, 7, 15, 27], readPerTurn: c.readPerTurn, liveBehindBytes: 300, keepResults: true});
		t.is(emitted, events.length);
		t.is(reports.length, 5);
		for (const report of reports) {
			t.like(report, {events: emitted, outOfOrder: 0, finished: run.hosts}, c.title);
			t.deepEqual(report.results!.map(result => dryRunAnswer(result)), answers, c.title);
		}

		// A result read from the live run's list has the answer's fields, not what only the live event carries.
		t.deepEqual(reports.at(-1)!.results![0], {agent: 'web1', status: 'ok', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 4, reason: 'dry run: would run (rule web1)'});
		t.false(existsSync(directory), 'a dry run writes no history');
	}
});

test('a dry run whose agent sends output anyway: the live run keeps none of it, and early and late followers get the same events, without output', async t => {
	const live = createLiveRuns();
	const run = live.begin({requestId, script: 's', targets: ['web1'], dryRun: true});
	const follow = (got: string[]) => followRunEvents({file: () => undefined, follow: listener => live.follow(requestId, listener), closed: new AbortController().signal}, {
		send(event, id) {
			got.push(`${id} ${event.type}${event.type === 'agent-finished' ? ` ${event.result.stdout.length + event.result.stderr.length}` : ''}`);
			return true;
		},
		unread: () => 0,
		drained: async () => undefined,
	});
	run.emit({type: 'run-started', requestId, script: 's', args: [], targets: ['web1'], startedAt: '2026-01-01T00:00:00.000Z'});
	const early: string[] = [];
	const following = [follow(early)];
	run.emit({type: 'agent-started', agent: 'web1'});
	const frame = 'y'.repeat(65_536);
	for (let index = 0; index < 256; index++) {
		run.emit({type: 'agent-output', agent: 'web1', stream: index % 2 === 0 ? 'stdout' : 'stderr', data: frame});
	}

	const late: string[] = [];
	following.push(follow(late));
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	run.emit({type: 'agent-finished', result: {agent: 'web1', status: 'ok', exitCode: null, signal: null, stdout: frame.repeat(128), stderr: frame.repeat(128), truncated: false, durationMs: 3, reason: 'dry run: would run'}});
	const list = live.follow(requestId, () => undefined)!;
	const kept: string[] = [];
	for (let event = list.kept!(kept.length); event; event = list.kept!(kept.length)) {
		kept.push(event.type);
	}

	t.deepEqual(kept, ['run-started', 'agent-finished'], 'no agent-output kept until the run ends (16 MiB before)');
	run.emit({type: 'run-finished', requestId});
	await Promise.all(following);
	t.deepEqual(early, ['0 run-started', '0.1 agent-started', '1 agent-finished 0', '2 run-finished']);
	t.deepEqual(late, early);
});

test('a follower joining a 40 MiB run midway, and its replay, run within a 24 MiB heap', async t => {
	const directory = join(temporaryDirectory(), 'runs');
	const simulation = join(repoRoot, 'test/api/follow-sim.ts');
	const script = `
		import {simulateFollowers, simulatedRequestId} from ${JSON.stringify(simulation)};
		import {followRunEvents} from ${JSON.stringify(join(repoRoot, 'source/api/run-follow.ts'))};
		import {findRunFile} from ${JSON.stringify(join(repoRoot, 'source/api/run-event-stream.ts'))};
		const run = {hosts: 160, chunks: 4, chunkBytes: 65536, parallel: 4};
		const {emitted, reports} = await simulateFollowers({run, directory: ${JSON.stringify(directory)}, joinAt: [560], readPerTurn: 1 << 20});
		let replayed = 0;
		let finished = 0;
		await followRunEvents({file: () => findRunFile(${JSON.stringify(directory)}, simulatedRequestId), closed: new AbortController().signal}, {
			send(event) { replayed++; finished += event.type === 'agent-finished' && event.result.stdout.length === 2 * 65536 ? 1 : 0; return true; },
			unread: () => 0,
			drained: async () => undefined,
		});
		process.stdout.write(JSON.stringify({emitted, follower: reports[0], replayed, finished}));
	`;
	const done = await promisify(execFile)(process.execPath, ['--max-old-space-size=24', '--import=tsx', '--input-type=module', '-e', script], {cwd: repoRoot, maxBuffer: 1 << 20});
	const answer = JSON.parse(done.stdout) as {emitted: number; follower: Record<string, unknown>; replayed: number; finished: number};
	t.is(answer.emitted, 2 + (160 * 7));
	t.like(answer.follower, {events: answer.emitted, outOfOrder: 0, finished: 160, omitted: 0, outputBytes: 160 * 4 * 65_536});
	t.deepEqual([answer.replayed, answer.finished], [answer.emitted - (160 * 2), 160]);
});
