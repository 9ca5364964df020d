/**
 * An audit batch's fsync runs off the event loop (batch-file.ts): while it is in flight the
 * process goes on (a controller's handshakes, an agent's other connections), the file lock is
 * already released, no append of the batch resolves, and what is appended meanwhile goes in one
 * next batch. The fsync is held open by the test's fs port until the test lets it go: no timing.
 */
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {openAuditLog} from '../../source/audit/file-log.js';
import {readAuditSet} from '../../source/audit/read-log.js';
import {verifyLogSet} from '../../source/audit/verify-set.js';
import {nodeFs, type DurableFs} from '../../source/io/durable-fs.js';
import {auditKey, fakeClock, temporaryDirectory} from './helpers.js';

const key = await auditKey('in-flight-key');

/** The real fs, recording writes and fsyncs; each fsync in the pool waits until `release()`. */
function heldFs() {
	const calls: string[] = [];
	const held: Array<() => void> = [];
	let called: (() => void) | undefined;
	const port: DurableFs = {
		...nodeFs,
		write(fd, data) {
			calls.push(`write ${data.trim().split('\n').map(line => (JSON.parse(line) as {event: string}).event).join(',')}`);
			return nodeFs.write(fd, data);
		},
		async fsyncInPool(fd) {
			calls.push('fsync');
			await new Promise<void>(resolve => {
				held.push(resolve);
				called?.();
			});
			await nodeFs.fsyncInPool(fd);
		},
	};
	return {
		port,
		calls,
		/** Resolves once an fsync is waiting to be let go. */
		async waiting() {
			if (held.length === 0) {
				await new Promise<void>(resolve => {
					called = resolve;
				});
			}
		},
		release() {
			held.shift()?.();
		},
	};
}

test('appends wait for their batch\'s fsync; meanwhile the lock is free, the event loop runs, and new appends form the next batch', async t => {
	const path = join(temporaryDirectory(t), 'audit.jsonl');
	const fs = heldFs();
	const log = openAuditLog({path, side: 'controller', signer: key.signer, now: fakeClock(), fs: fs.port});
	const resolved: string[] = [];
	const append = async (event: string) => log.append({event}).then(() => resolved.push(event));

	const first = append('first');
	await fs.waiting();
	t.deepEqual(fs.calls, ['write first', 'fsync']);
	t.false(existsSync(`${path}.lock`), 'the file lock is released before the fsync');
	// The event loop is free: timers and immediates run while the fsync is held.
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	await new Promise(resolve => {
		setTimeout(resolve, 1);
	});
	const later = [append('second'), append('third')];
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	t.deepEqual(resolved, [], 'nothing resolves before its fsync');
	t.deepEqual(fs.calls, ['write first', 'fsync'], 'no second write while the first batch is in flight');

	fs.release();
	await first;
	t.deepEqual(resolved, ['first']);
	await fs.waiting();
	t.deepEqual(fs.calls, ['write first', 'fsync', 'write second,third', 'fsync'], 'the appends made meanwhile are one batch');
	t.deepEqual(resolved, ['first'], 'the second batch waits for its own fsync');

	fs.release();
	await Promise.all(later);
	t.deepEqual(resolved, ['first', 'second', 'third']);
	const closing = log.close();
	await fs.waiting();
	fs.release();
	await closing;
	t.true(verifyLogSet(readAuditSet(path), {verifier: key.verifier}).ok);
});

test('a failed fsync in the pool refuses every append of its batch, and the next batch continues the chain', async t => {
	const path = join(temporaryDirectory(t), 'audit.jsonl');
	let fail = true;
	const port: DurableFs = {
		...nodeFs,
		async fsyncInPool(fd) {
			if (fail) {
				fail = false;
				throw Object.assign(new Error('EIO: injected'), {code: 'EIO'});
			}

			await nodeFs.fsyncInPool(fd);
		},
	};
	const log = openAuditLog({path, side: 'controller', signer: key.signer, now: fakeClock(), fs: port});
	const outcomes = await Promise.allSettled([log.append({event: 'a'}), log.append({event: 'b'})]);
	t.deepEqual(outcomes.map(outcome => outcome.status), ['rejected', 'rejected']);
	t.regex(String((outcomes[0] as PromiseRejectedResult).reason), /AUDIT|audit log.*\(EIO\)/);
	await log.append({event: 'c'});
	await log.close();
	t.true(verifyLogSet(readAuditSet(path), {verifier: key.verifier}).ok);
});
