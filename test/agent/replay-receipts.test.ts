/**
 * The run receipts read back for the replay guard (agent/replay-receipts.ts), and the guard's
 * memory loading them (replay-memory.ts `auditLog`): every receipt in the window, through chunk
 * boundaries, torn and foreign lines, and rotated files; older records stop the read; a run frame's
 * id is not appended to `seen-requests` (check's `remember` false), every other frame's still is.
 */
import {appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {replayMemoryFor, seenRequestsFile} from '../../agent/replay-memory.js';
import {runReceiptsSince} from '../../agent/replay-receipts.js';

const windowMs = 5 * 60 * 1000;
const keepMs = 2 * windowMs;
const noon = Date.UTC(2026, 0, 15, 12, 0, 0);

function home(t: {teardown: (fn: () => void) => void}): string {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-receipts-'));
	t.teardown(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

/** An audit line as the agent writes one, padded so that a few hundred of them cross the reader's 256 KiB chunks. */
const line = (event: string, at: number, fields: Record<string, unknown> = {}) => JSON.stringify({agent: 'web1', event, ...fields, hash: 'h'.repeat(64), pad: 'p'.repeat(900), seq: 1, side: 'agent', ts: new Date(at).toISOString()}) + '\n';

test('every run receipt from `since` on is read, newest first, through chunk boundaries; torn, foreign and other lines are skipped', t => {
	const log = join(home(t), 'agent.jsonl');
	let text = line('agent.started', noon - (3 * keepMs));
	const expected: Array<[string, number]> = [];
	// One receipt a second for 20 minutes: the first 10 are older than `since`, the last 10 within it.
	for (let second = 0; second < 1200; second++) {
		const at = noon - (2 * keepMs) + (second * 1000);
		text += line('request.received', at, {msg: `msg-${second}`, requestId: `r-${second}`});
		text += line('run.finish', at, {requestId: `r-${second}`});
		if (at >= noon - keepMs) {
			expected.unshift([`msg-${second}`, at]);
		}
	}

	text += '{"torn": tr\n' + 'not json at all\n' + line('request.received', noon, {requestId: 'no-msg'});
	writeFileSync(log, text + line('request.received', noon, {msg: 'torn-last'}).slice(0, 50));
	const found = runReceiptsSince(log, noon - keepMs, keepMs);
	t.deepEqual(found, expected);
	t.is(found.length, 600);
});

test('a read that reaches the current file\'s start goes on into the rotated files, newest first, and stops at an older record', t => {
	const directory = home(t);
	const log = join(directory, 'agent.jsonl');
	writeFileSync(`${log}.1`, line('request.received', noon - (5 * keepMs), {msg: 'long-gone'}) + line('request.received', noon - (3 * keepMs), {msg: 'stops-here'}));
	writeFileSync(`${log}.2`, line('request.received', noon - 1000, {msg: 'rotated-recent'}));
	writeFileSync(log, line('request.received', noon, {msg: 'current'}));
	t.deepEqual(runReceiptsSince(log, noon - keepMs, keepMs), [['current', noon], ['rotated-recent', noon - 1000]]);
	t.deepEqual(runReceiptsSince(join(directory, 'missing.jsonl'), noon, keepMs), []);
});

test('a restarted guard refuses a run frame whose id only its receipt holds; a run frame is not appended to seen-requests, any other frame is', t => {
	const directory = home(t);
	const log = join(directory, 'agent.jsonl');
	const first = replayMemoryFor(directory, () => noon, undefined, undefined, log);
	const guard = new ReplayGuard(windowMs, undefined, first.memory);
	first.load(guard);
	t.deepEqual(guard.check('msg-run', noon, noon, false), {ok: true});
	t.deepEqual(guard.check('msg-describe', noon, noon), {ok: true});
	t.deepEqual(readFileSync(join(directory, seenRequestsFile), 'utf8'), `${noon} msg-describe\n`);
	t.like(guard.check('msg-run', noon, noon + 1, false), {ok: false, code: 'replayed'}, 'refused in memory at once');
	appendFileSync(log, line('request.received', noon, {msg: 'msg-run'}));

	// The guard's file alone does not hold it: without the log, the run frame would be taken again.
	const fileOnly = replayMemoryFor(directory, () => noon + 1000);
	const blind = new ReplayGuard(windowMs, undefined, fileOnly.memory);
	fileOnly.load(blind);
	t.deepEqual(blind.check('msg-run', noon, noon + 1000, false), {ok: true});

	const second = replayMemoryFor(directory, () => noon + 1000, undefined, undefined, log);
	const restarted = new ReplayGuard(windowMs, undefined, second.memory);
	second.load(restarted);
	t.deepEqual(restarted.check('msg-run', noon, noon + 1000, false), {ok: false, code: 'replayed', reason: 'message msg-run was already received'});
	t.like(restarted.check('msg-describe', noon, noon + 1000), {ok: false, code: 'replayed'});
	t.deepEqual(restarted.check('msg-new', noon, noon + 1000, false), {ok: true});

});
