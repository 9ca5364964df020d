/**
 * The digest an agent describes for each allowlist entry: it covers the entry (path, runAs,
 * interpreter, schema, limits) and the files that execute, without showing the path; each of
 * those changing changes it, and the same entry over the same file keeps it.
 */
import {appendFileSync, chmodSync, closeSync, copyFileSync, openSync, readFileSync, statSync, utimesSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import type {AllowlistEntry} from '../../agent/allowlist.js';
import {describeAllowlist, loadAllowlist} from '../../agent/loaded-allowlist.js';
import {ownersFor} from '../../agent/owners.js';
import {temporaryDirectory} from '../helpers/fleet.js';

function script(): string {
	const path = join(temporaryDirectory(), 'echo');
	copyFileSync('/bin/echo', path);
	return path;
}

function digestOf(entry: AllowlistEntry): string {
	const described = describeAllowlist(loadAllowlist({scripts: {echo: entry}}, each => ownersFor(each.runAs), undefined));
	if (described.length !== 1 || described[0]!.digest === undefined) {
		throw new Error('the entry did not load, or has no digest');
	}

	return described[0]!.digest;
}

test('the digest is SHA-256 hex, says nothing of the path, and is the same for the same entry and file', t => {
	const path = script();
	const entry = {path, description: 'echo', timeoutSeconds: 30};
	const digest = digestOf(entry);
	t.regex(digest, /^[\da-f]{64}$/);
	t.is(digestOf({...entry}), digest);
	const described = JSON.stringify(describeAllowlist(loadAllowlist({scripts: {echo: entry}}, each => ownersFor(each.runAs), undefined)));
	t.false(described.includes(path));
});

const changes: Array<[string, (entry: AllowlistEntry) => AllowlistEntry]> = [
	['another path (another copy of the same file)', entry => ({...entry, path: script()})],
	['another description', entry => ({...entry, description: 'echo it'})],
	['another timeout', entry => ({...entry, timeoutSeconds: 31})],
	['a maxTargets', entry => ({...entry, maxTargets: 2})],
	['confirm', entry => ({...entry, confirm: true})],
	['the file touched since (its mtime)', entry => {
		utimesSync(entry.path, new Date(), new Date(Date.now() - 60_000));
		return entry;
	}],
	['the file rewritten in place and its times set back (its ctime)', entry => {
		const {atime, mtime} = statSync(entry.path);
		const fd = openSync(entry.path, 'r+');
		writeSync(fd, readFileSync(entry.path).subarray(0, 4), 0, 4, 0);
		closeSync(fd);
		utimesSync(entry.path, atime, mtime);
		return entry;
	}],
	['a chmod put back (its ctime)', entry => {
		chmodSync(entry.path, 0o700);
		chmodSync(entry.path, 0o755);
		return entry;
	}],
	['the file grown by a byte, its times set back (its size and ctime)', entry => {
		const {atime, mtime} = statSync(entry.path);
		appendFileSync(entry.path, '\0');
		utimesSync(entry.path, atime, mtime);
		return entry;
	}],
];

for (const [title, change] of changes) {
	test(`the digest changes with ${title}`, t => {
		const entry = {path: script(), description: 'echo', timeoutSeconds: 30};
		const before = digestOf(entry);
		t.not(digestOf(change(entry)), before);
	});
}
