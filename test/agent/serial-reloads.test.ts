/**
 * SIGHUP's reloads run one at a time, in the order asked (agent/start-reload.ts serialReloads).
 * Before, each SIGHUP started its own reload: one still loading an older allowlist (its schema
 * compiler being imported) set it after a newer one had, so a script just denied was allowed again
 * until the next reload (found reading the code in the lifecycle review).
 */
import test from 'ava';
import {serialReloads} from '../../agent/start-reload.js';

type Logged = Array<[string, Record<string, unknown>]>;

function deferred(): {promise: Promise<void>; resolve: () => void} {
	let resolve!: () => void;
	const promise = new Promise<void>(done => {
		resolve = done;
	});
	return {promise, resolve};
}

test('a second reload starts only once the first has ended, so the newest allowlist is the one left in force', async t => {
	const applied: string[] = [];
	const slow = deferred();
	const reads = ['old', 'new'];
	const waits = [slow.promise, Promise.resolve()];
	let calls = 0;
	const {reload} = serialReloads(async () => {
		const index = calls++;
		const read = reads[index]!;
		await waits[index];
		applied.push(read);
	}, () => false, () => undefined);
	reload();
	reload();
	await new Promise(resolve => setImmediate(resolve));
	t.deepEqual(applied, [], 'the second waits for the first');
	slow.resolve();
	await new Promise(resolve => setImmediate(resolve));
	t.deepEqual(applied, ['old', 'new']);
});

test('a reload asked while stopping, or whose turn comes once stopping, is refused and logged', async t => {
	const logged: Logged = [];
	let stopping = false;
	let reloads = 0;
	const first = deferred();
	const {reload} = serialReloads(async () => {
		reloads++;
		await first.promise;
	}, () => stopping, (event, fields) => logged.push([event, fields]));
	reload();
	await new Promise(resolve => setImmediate(resolve));
	reload();
	stopping = true;
	first.resolve();
	reload();
	await new Promise(resolve => setImmediate(resolve));
	t.is(reloads, 1);
	t.deepEqual(logged, [
		['reload.refused', {reason: 'the agent is stopping: its files are read again at its next start'}],
		['reload.refused', {reason: 'the agent is stopping: its files are read again at its next start'}],
	]);
});

test('a reload that throws is logged and does not stop the next', async t => {
	const logged: Logged = [];
	let calls = 0;
	const {reload} = serialReloads(async () => {
		calls++;
		if (calls === 1) {
			throw new Error('allowlist.json: unreadable');
		}
	}, () => false, (event, fields) => logged.push([event, fields]));
	reload();
	reload();
	await new Promise(resolve => setImmediate(resolve));
	t.is(calls, 2);
	t.deepEqual(logged, [['allowlist.reload-failed', {reason: 'allowlist.json: unreadable'}]]);
});
