/**
 * A run's describe over its dispatch threads (discover.ts with a pool of thread-pool.ts): `parallel`
 * describes at once on each thread that has a core of its own (thread-count.ts), not in all (64 was
 * the main thread's alone), and every target still gets exactly one answer, in the targets' order.
 */
import {availableParallelism} from 'node:os';
import test from 'ava';
import {describeParallelism} from '../../source/dispatch/thread-count.js';
import type {AgentTarget} from '../../source/dispatch/agent-connection.js';
import {discoverAgents, type Discovered} from '../../source/dispatch/discover.js';

/** A pool of `count` threads that answers each describe when told, counting how many wait at once. */
function fakePool(count: number) {
	const waiting: Array<() => void> = [];
	let most = 0;
	return {
		pool: {
			count,
			describe: async (target: AgentTarget) => new Promise<Discovered>(resolve => {
				waiting.push(() => resolve({name: target.name, address: target.address, status: 'reachable', scripts: []}));
				most = Math.max(most, waiting.length);
			}),
		},
		most: () => most,
		answerAll() {
			for (const answer of waiting.splice(0)) {
				answer();
			}
		},
	};
}

const targets: AgentTarget[] = Array.from({length: 300}, (_, index) => ({name: `h${index}`, address: `127.0.0.1:${1000 + index}`}));

for (const [threads, cores, atOnce] of [[1, 2, 64], [2, 2, 64], [2, 4, 128], [3, 4, 192], [8, 16, 512], [8, 4, 192]] as const) {
	test(`describes at once: ${threads} thread(s) on ${cores} cores, ${atOnce}`, t => {
		t.is(describeParallelism(64, {threads, cores}), atOnce);
	});
}

for (const count of [1, 2, 4]) {
	const atOnce = describeParallelism(64, {threads: count, cores: availableParallelism()});
	test(`with ${count} dispatch thread(s) on this machine: ${atOnce} describes at once, one answer per target in order`, async t => {
		const fake = fakePool(count);
		const found = discoverAgents(targets, {} as never, {parallel: 64, timeoutMs: 5000, threads: {pool: fake.pool, holdUpTo: 0}});
		const timer = setInterval(() => fake.answerAll(), 1);
		const answers = await found.finally(() => clearInterval(timer));
		t.is(fake.most(), atOnce);
		t.deepEqual(answers.map(answer => answer.name), targets.map(target => target.name));
	});
}
