/**
 * One `xi-exec run quick --on all --json` of a given build of the controller (the dist CLI, the
 * release's single-file bundle, its single executable) with the setting `dispatchThreads`, for
 * the dispatch-thread tests: its results, audit records and history with what differs by run or
 * by clock taken out, the most threads its process had, and which dispatch thread ran each host
 * (NODE_DEBUG=xi-exec-threads, thread-pool.ts).
 */
import {spawn} from 'node:child_process';
import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';

/** How to start the controller: a program and the words before the CLI's own (a bundle for node, or nothing for an executable). */
export type ControllerProgram = {command: string; prefix: string[]};

export type ThreadedRun = {
	results: unknown[];
	audit: unknown[];
	history: unknown[];
	mostThreads: number;
	/** Host name → the dispatch thread (1, 2, ...) that ran it, or 'main'. */
	ranOn: Map<string, number | 'main'>;
	/** Host name → the dispatch thread that described it, and whether it kept the connection for the run. */
	describedOn: Map<string, {thread: number; kept: boolean}>;
	/** The thread ids of the dispatch threads that reported a result. */
	threadIds: Set<number>;
};

/** The threads of a running process (the main one, node's own, and one per dispatch thread). */
function threadCount(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/task`).length;
	} catch {
		return 0;
	}
}

const served = /^XI-EXEC-THREADS \d+: (\S+): \w+ from dispatch thread (\d+) \(thread id (\d+)\)$/;
const onMain = /^XI-EXEC-THREADS \d+: (\S+): on the main thread \(/;
const described = /^XI-EXEC-THREADS \d+: (\S+): described \(\w+\) on dispatch thread (\d+) \(thread id \d+\)(, its connection kept there)?$/;

// --parallel 2: the first two hosts go over their describe's connections (kept where they were described), the others are dialled.
export async function threadedCliRun(home: string, threads: number, program: ControllerProgram, args = ['run', 'quick', '--on', 'all', '--parallel', '2', '--json']): Promise<ThreadedRun> {
	writeFileSync(join(home, 'config.json'), JSON.stringify({dispatchThreads: threads}));
	// Every run describes its hosts (on the threads, for two): a run without arguments after the first would plan from the description cache.
	rmSync(join(home, 'described.json'), {force: true});
	const child = spawn(program.command, [...program.prefix, ...args], {env: {...process.env, XI_EXEC_HOME: home, NODE_DEBUG: 'xi-exec-threads'}, stdio: ['ignore', 'pipe', 'pipe']});
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
	let mostThreads = 0;
	const sampler = setInterval(() => {
		mostThreads = Math.max(mostThreads, threadCount(child.pid!));
	}, 20);
	const code = await new Promise<number | null>(resolve => child.on('close', resolve));
	clearInterval(sampler);
	if (code !== 0) {
		throw new Error(`exit ${code}: ${stderr}${stdout}`);
	}

	const ranOn = new Map<string, number | 'main'>();
	const threadIds = new Set<number>();
	const describedOn = new Map<string, {thread: number; kept: boolean}>();
	for (const line of stderr.split('\n')) {
		const describe = described.exec(line);
		if (describe) {
			describedOn.set(describe[1]!, {thread: Number(describe[2]), kept: describe[3] !== undefined});
		}

		const thread = served.exec(line);
		if (thread) {
			ranOn.set(thread[1]!, Number(thread[2]));
			threadIds.add(Number(thread[3]));
		}

		const main = onMain.exec(line);
		if (main) {
			ranOn.set(main[1]!, 'main');
		}
	}

	const run = JSON.parse(stdout) as {requestId: string; results: Array<Record<string, unknown>>};
	const clockless = ({durationMs: _duration, agentHead: _head, ...rest}: Record<string, unknown>) => rest;
	const byAgent = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
	const audit = readFileSync(join(home, 'audit', 'controller.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
		.filter(record => record['requestId'] === run.requestId)
		.map(({ts: _ts, seq: _seq, prev: _prev, hash: _hash, sig: _sig, requestId: _id, planHash: _plan, durationMs: _duration, agentHead: _head, ...rest}) => rest)
		.sort(byAgent);
	const file = readdirSync(join(home, 'runs')).find(name => name.includes(run.requestId))!;
	const history = readFileSync(join(home, 'runs', file), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
		.map(({requestId: _id, startedAt: _started, endedAt: _ended, at: _at, durationMs: _duration, result, ...rest}) => ({...rest, ...(result ? {result: clockless(result as Record<string, unknown>)} : {})}))
		.sort(byAgent);
	return {results: run.results.map(clockless).sort(byAgent), audit, history, mostThreads, ranOn, describedOn, threadIds};
}

/**
 * `two` (dispatchThreads 2, --parallel 2) against `one` (the main thread alone) on `names`: every
 * describe and every host on a dispatch thread, both threads used, the first wave's two hosts run
 * on the thread that described them (over the connection it kept), and the same results, audit
 * records and history as on one thread.
 */
export function sameAsOneThread(t: ExecutionContext, one: ThreadedRun, two: ThreadedRun, names: readonly string[]): void {
	t.is(one.ranOn.size + one.describedOn.size, 0, 'one thread: no dispatch thread');
	const seen = JSON.stringify({described: [...two.describedOn], ran: [...two.ranOn]});
	t.deepEqual([...two.describedOn.keys()].sort(), [...names].sort(), seen);
	t.deepEqual([...new Set([...two.describedOn.values()].map(each => each.thread))].sort(), [1, 2], seen);
	t.deepEqual([...two.ranOn.keys()].sort(), [...names].sort(), seen);
	t.deepEqual([...new Set(two.ranOn.values())].sort(), [1, 2], seen);
	t.is(two.threadIds.size, 2);
	const kept = [...two.describedOn].filter(([, each]) => each.kept);
	t.is(kept.length, 2, `the first wave's connections kept: ${seen}`);
	for (const [name, each] of kept) {
		t.is(two.ranOn.get(name), each.thread, `${name} ran on the thread that kept its describe's connection: ${seen}`);
	}

	t.is(one.results.length, names.length);
	t.true(one.results.every(result => JSON.stringify(result).includes('"status":"ok"') && JSON.stringify(result).includes('"stdout":"from quick\\ndone\\n"')), JSON.stringify(one.results));
	t.deepEqual(two.results, one.results);
	t.deepEqual(two.audit, one.audit);
	t.deepEqual(two.history, one.history);
}
