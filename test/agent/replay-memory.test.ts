import {appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {openReplayFile, replayMemoryFor, seenRequestsFile} from '../../agent/replay-memory.js';

const windowMs = 5 * 60 * 1000;
const noon = Date.UTC(2026, 0, 15, 12, 0, 0);

function home(t: {teardown: (fn: () => void) => void}): string {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-replay-'));
	t.teardown(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

const lines = (directory: string) => readFileSync(join(directory, seenRequestsFile), 'utf8').split('\n').filter(Boolean);

test('a second guard on the same home refuses what the first accepted; the file is 0600; a torn last line is skipped', t => {
	const directory = home(t);
	const first = replayMemoryFor(directory, () => noon);
	const guard = new ReplayGuard(windowMs, undefined, first.memory);
	first.load(guard);
	t.deepEqual(guard.check('msg-0001abcd', noon, noon), {ok: true});
	t.is(statSync(join(directory, seenRequestsFile)).mode & 0o777, 0o600);
	appendFileSync(join(directory, seenRequestsFile), `${noon} msg-torn`.slice(0, 9));

	const second = replayMemoryFor(directory, () => noon + 1000);
	const restarted = new ReplayGuard(windowMs, undefined, second.memory);
	second.load(restarted);
	t.like(restarted.check('msg-0001abcd', noon, noon + 1000), {ok: false, code: 'replayed'});
	t.deepEqual(lines(directory), [`${noon} msg-0001abcd`], 'rewritten at load: the torn line is gone');
});

test('a short write (a full disk) is refused and cut off: the next id appended is whole, and still read after a restart', t => {
	const path = join(home(t), seenRequestsFile);
	let short = false;
	const file = openReplayFile(path, (fd, text) => {
		const written = writeSync(fd, short ? text.slice(0, 5) : text);
		short = false;
		return written;
	});
	file.remember('msg-0001', noon);
	short = true;
	t.throws(() => {
		file.remember('msg-0002', noon);
	}, {message: 'a short write'});
	file.remember('msg-0003', noon + 1);
	t.is(readFileSync(path, 'utf8'), `${noon} msg-0001\n${noon + 1} msg-0003\n`);
	t.deepEqual(openReplayFile(path).read(), [['msg-0001', noon], ['msg-0003', noon + 1]]);
});

test('bounded: loading forgets ids older than twice the window, and the file is compacted as it grows', t => {
	const directory = home(t);
	let now = noon;
	const memory = replayMemoryFor(directory, () => now, 100);
	const guard = new ReplayGuard(windowMs, undefined, memory.memory);
	memory.load(guard);
	// 1000 messages, one a second: at most about twice the window's worth (600 s) is ever kept.
	for (let index = 0; index < 1000; index++) {
		now = noon + (index * 1000);
		t.true(guard.check(`msg-${String(index).padStart(8, '0')}`, now, now).ok);
	}

	t.true(lines(directory).length <= 2 * 601, `${lines(directory).length} lines`);
	const later = replayMemoryFor(directory, () => now);
	const restarted = new ReplayGuard(windowMs, undefined, later.memory);
	later.load(restarted);
	t.is(lines(directory).length, 601);
	t.like(restarted.check('msg-00000999', now, now), {ok: false, code: 'replayed'});
	t.like(restarted.check('msg-00000399', now, now), {ok: false, code: 'replayed'});
	t.true(restarted.check('msg-00000398', now, now).ok, 'older than twice the window: forgotten (its timestamp is stale anyway)');
});
