/**
 * The walk to an executable (agent/walk-path.ts) judges every component by the fstat of the
 * descriptor it opened: a directory on the way by number stats (owner, mode, kind), the file and
 * each symbolic link by exact (bigint) ones. Each row walks once while all is well, changes one
 * component, and walks again: the change is refused at that next walk, with its reason.
 */
import {chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {closeAll, walk} from '../../agent/walk-path.js';

const agentUid = process.getuid?.() ?? 0;
const owners = {agentUid};

function layout(t: {teardown: (fn: () => void) => void}): {root: string; script: string; link: string} {
	const root = mkdtempSync(join(tmpdir(), 'xi-exec-walk-'));
	t.teardown(() => rmSync(root, {recursive: true, force: true}));
	chmodSync(root, 0o755);
	mkdirSync(join(root, 'bin'), {mode: 0o755});
	const script = join(root, 'bin', 'hello');
	writeFileSync(script, '#!/bin/sh\necho hello\n', {mode: 0o755});
	symlinkSync('bin', join(root, 'via'));
	return {root, script, link: join(root, 'via', 'hello')};
}

function walked(path: string): string {
	const result = walk(path, owners);
	if (!result.ok) {
		return result.reason;
	}

	closeAll([result.fd]);
	return typeof result.stats.ino === 'bigint' && typeof result.stats.mtimeNs === 'bigint' ? 'ok, exact' : 'ok, not exact';
}

test('a directory on the way made writable by its group after a good walk is refused at the next', t => {
	const {root, script} = layout(t);
	t.is(walked(script), 'ok, exact');
	chmodSync(join(root, 'bin'), 0o775);
	t.is(walked(script), `${join(root, 'bin')} is writable by its group (mode 775)`);
	chmodSync(join(root, 'bin'), 0o755);
	t.is(walked(script), 'ok, exact');
});

test('a directory, a link and the file given to another user are each refused at the next walk', t => {
	if (agentUid !== 0) {
		t.pass('needs root to give files away');
		return;
	}

	const {root, script, link} = layout(t);
	t.is(walked(link), 'ok, exact', 'through the link');
	chownSync(join(root, 'bin'), 65_534, 65_534);
	t.is(walked(script), `${join(root, 'bin')} is owned by uid 65534, neither root nor the agent's user (uid 0)`);
	chownSync(join(root, 'bin'), 0, 0);
	lchownSync(join(root, 'via'), 65_534, 65_534);
	t.is(walked(link), `the symbolic link ${join(root, 'via')} is owned by uid 65534, neither root nor the agent's user (uid 0)`);
	lchownSync(join(root, 'via'), 0, 0);
	chownSync(script, 65_534, 65_534);
	t.is(walked(script), `${script} is owned by uid 65534, neither root nor the agent's user (uid 0)`);
});

test('the file not executable, or a file where a directory should be, is refused', t => {
	const {root, script} = layout(t);
	chmodSync(script, 0o644);
	t.is(walked(script), `${script} is not executable`);
	t.is(walked(join(script, 'more')), `${script} is not a directory`);
	t.is(walked(join(root, 'bin')), `${join(root, 'bin')} is not a regular file`);
});
