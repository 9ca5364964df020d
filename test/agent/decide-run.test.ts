import test from 'ava';
import type {ExecIdentity, FileCheck} from '../../agent/allowlist.js';
import {decideRun} from '../../agent/decide-run.js';
import {compileArgsSchema} from '../../source/protocol/args-schema.js';
import {describeEntry} from '../../agent/describe-entry.js';
import type {LoadedAllowlist, LoadedEntry} from '../../agent/loaded-allowlist.js';
import {describedEntryDigest} from '../../source/run/entry-digest.js';
import type {RunFrame} from '../../source/protocol/frames.js';

const script = {path: '/usr/bin/uptime', dev: '2049', ino: '1234', size: '4096', mtimeNs: '1768435200000000000', ctimeNs: '1768435200123456789', uid: 0, mode: 0o100755};
const shell = {path: '/bin/sh', dev: '2049', ino: '77', size: '125560', mtimeNs: '1735689600000000000', ctimeNs: '1735689600000000001', uid: 0, mode: 0o100755};
const identity: ExecIdentity = [script, shell];

// An option position, a mode from a list, then a file name (free text).
const copySchema = {type: 'array', prefixItems: [{type: 'string', option: true}, {enum: ['-n', '--dry-run', 'fast']}, {type: 'string'}], minItems: 3, items: false};

const filesSchema = {type: 'array', items: {type: 'string'}};

function schema(value: unknown) {
	const compiled = compileArgsSchema(value);
	if (!compiled.ok) {
		throw new Error(compiled.reason);
	}

	return compiled.validate;
}

const allowlist: LoadedAllowlist = new Map<string, LoadedEntry>([
	['uptime', {name: 'uptime', entry: {path: '/usr/bin/uptime', description: '', timeoutSeconds: 30}, identity}],
	['restart', {
		name: 'restart',
		entry: {path: '/opt/ops/restart', description: '', timeoutSeconds: 60},
		identity,
		validate: schema({type: 'array', prefixItems: [{enum: ['nginx', 'app']}], items: false, minItems: 1}),
	}],
	['copy', {
		name: 'copy',
		entry: {path: '/opt/ops/copy', description: '', timeoutSeconds: 30, args: copySchema},
		identity,
		validate: schema(copySchema),
	}],
	['files', {name: 'files', entry: {path: '/opt/ops/files', description: '', timeoutSeconds: 30, args: filesSchema}, identity, validate: schema(filesSchema)}],
	['unsafe', {name: 'unsafe', entry: {path: '/tmp/unsafe', description: '', timeoutSeconds: 30}, problem: '/tmp/unsafe is writable by others (mode 777)'}],
]);

function frame(script: string, args: string[] = []): RunFrame {
	return {v: 1, type: 'run', id: 'req-0001abcd', msg: 'msg-0001abcd', ts: Date.UTC(2026, 0, 15, 12), script, args, caller: 'alice'};
}

const unchanged = (): FileCheck => ({ok: true, identity});

const refusals: Array<{title: string; frame: RunFrame; recheck?: () => FileCheck; reason: string}> = [
	{title: 'an upper-case name', frame: frame('Uptime'), reason: 'script name "Uptime" is not a valid name ([a-z0-9][a-z0-9._-]*)'},
	{title: 'a path as a name', frame: frame('/bin/sh'), reason: 'script name "/bin/sh" is not a valid name ([a-z0-9][a-z0-9._-]*)'},
	{title: 'a name with a NUL', frame: frame('uptime\u0000'), reason: 'script name "uptime\\u0000" is not a valid name ([a-z0-9][a-z0-9._-]*)'},
	{title: 'an inherited property name', frame: frame('constructor'), reason: 'script constructor is not on web1\'s allowlist'},
	{title: 'a script not on the allowlist', frame: frame('reboot'), reason: 'script reboot is not on web1\'s allowlist'},
	{title: 'an entry that failed its checks at load', frame: frame('unsafe'), reason: 'script unsafe is refused: /tmp/unsafe is writable by others (mode 777)'},
	{title: 'a file that fails its check now', frame: frame('uptime'), recheck: () => ({ok: false, reason: '/usr/bin/uptime is not executable'}), reason: 'script uptime is refused: /usr/bin/uptime is not executable'},
	{
		title: 'a file replaced since load',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [{...script, ino: '99'}, shell]}),
		reason: 'script uptime is refused: /usr/bin/uptime changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'a file whose mode changed since load',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [{...script, mode: 0o104755}, shell]}),
		reason: 'script uptime is refused: /usr/bin/uptime changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		// What touch -d leaves of an in-place rewrite: the same inode and mtime, a later ctime.
		title: 'a file rewritten in place with its mtime and size set back',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [{...script, ctimeNs: '1768435299000000000'}, shell]}),
		reason: 'script uptime is refused: /usr/bin/uptime changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'a file of another size and nothing else changed',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [{...script, size: '4097'}, shell]}),
		reason: 'script uptime is refused: /usr/bin/uptime changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'an interpreter whose ctime moved by a nanosecond',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [script, {...shell, ctimeNs: '1735689600000000002'}]}),
		reason: 'script uptime is refused: /bin/sh changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'an interpreter replaced since load',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [script, {...shell, ino: '78'}]}),
		reason: 'script uptime is refused: /bin/sh changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'a script that now names another interpreter',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [script, {...shell, path: '/bin/bash'}]}),
		reason: 'script uptime is refused: /bin/sh changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{
		title: 'a script that now has an interpreter it had not',
		frame: frame('uptime'),
		recheck: () => ({ok: true, identity: [script, shell, {...shell, path: '/usr/bin/perl'}]}),
		reason: 'script uptime is refused: /usr/bin/perl changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)',
	},
	{title: 'an argument with a NUL', frame: frame('uptime', ['a\u0000']), reason: 'arguments refused: argument 1 contains a NUL byte'},
	{title: 'too many arguments', frame: frame('uptime', Array.from({length: 65}, () => 'a')), reason: 'arguments refused: 65 arguments given; the limit is 64'},
	{title: 'an argument the schema does not allow', frame: frame('restart', ['database']), reason: 'arguments refused by restart\'s schema: argument #1 must be equal to one of the allowed values'},
	{title: 'more arguments than the schema allows', frame: frame('restart', ['nginx', '--force']), reason: 'arguments refused by restart\'s schema: the arguments must NOT have more than 1 items'},
	{title: 'a file name position given an option', frame: frame('copy', ['-v', 'fast', '-rf']), reason: 'arguments refused: argument 3 "-rf" begins with "-" where copy\'s schema declares no option (mark that position "option": true, or list the value in its "enum")'},
	{title: 'a file name position given a long option', frame: frame('files', ['a', '--output=/etc/passwd']), reason: 'arguments refused: argument 2 "--output=/etc/passwd" begins with "-" where files\'s schema declares no option (mark that position "option": true, or list the value in its "enum")'},
	{title: 'an option its enum does not list', frame: frame('copy', ['-v', '-f', 'a']), reason: 'arguments refused by copy\'s schema: argument #2 must be equal to one of the allowed values'},
	{title: 'fewer arguments than the schema needs', frame: frame('restart'), reason: 'arguments refused by restart\'s schema: the arguments must NOT have fewer than 1 items'},
];

for (const c of refusals) {
	test(`decideRun refuses ${c.title}`, t => {
		t.deepEqual(decideRun(c.frame, allowlist, c.recheck ?? unchanged, 'web1'), {ok: false, reason: c.reason});
	});
}

test('decideRun does not look at the file for a name that is refused before lookup', t => {
	let rechecked = 0;
	decideRun(frame('../uptime'), allowlist, () => {
		rechecked++;
		return unchanged();
	}, 'web1');
	t.is(rechecked, 0);
});

test('decideRun returns the entry when every check passes', t => {
	for (const args of [['-v', '-n', 'a'], ['--verbose', '--dry-run', '-'], ['x', 'fast', 'file-with-dash-inside']]) {
		t.true(decideRun(frame('copy', args), allowlist, unchanged, 'web1').ok, JSON.stringify(args));
	}


	t.deepEqual(decideRun(frame('uptime', ['$(id)', '; reboot']), allowlist, unchanged, 'web1'), {ok: true, loaded: allowlist.get('uptime')!, checked: unchanged()});
	t.deepEqual(decideRun(frame('restart', ['app']), allowlist, unchanged, 'web1'), {ok: true, loaded: allowlist.get('restart')!, checked: unchanged()});
});

/** The digest the agent describes its `uptime` entry with, as a controller that cached it would send it. */
const uptimeDigest = describedEntryDigest(describeEntry(allowlist.get('uptime')!));

test('decideRun runs a run planned with the entry as it is (its described digest)', t => {
	t.true(decideRun({...frame('uptime'), entryDigest: uptimeDigest}, allowlist, unchanged, 'web1').ok);
});

const stalePlans: Array<{title: string; digest: string}> = [
	{title: 'another entry (its description changed since)', digest: describedEntryDigest({...describeEntry(allowlist.get('uptime')!), description: 'was'})},
	{title: 'an entry that allowed more targets', digest: describedEntryDigest({...describeEntry(allowlist.get('uptime')!), maxTargets: 1000})},
	{title: 'another script\'s entry', digest: describedEntryDigest(describeEntry(allowlist.get('restart')!))},
	{title: 'the agent\'s own entry digest instead of the described one', digest: 'a'.repeat(64)},
];

for (const c of stalePlans) {
	test(`decideRun refuses a run planned with ${c.title}, saying the entry changed, before looking at the file`, t => {
		let rechecked = 0;
		const decision = decideRun({...frame('uptime'), entryDigest: c.digest}, allowlist, () => {
			rechecked++;
			return unchanged();
		}, 'web1');
		t.like(decision, {ok: false, entryChanged: true});
		t.regex((decision as {reason: string}).reason, /^script uptime is refused: the controller planned this run with another allowlist entry for uptime on web1 \(planned [\da-f]{12}…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran$/);
		t.is(rechecked, 0);
	});
}

test('decideRun still refuses a planned run on everything else: a file replaced since load, an entry that failed its checks', t => {
	t.deepEqual(decideRun({...frame('uptime'), entryDigest: uptimeDigest}, allowlist, () => ({ok: true, identity: [{...script, ino: '99'}, shell]}), 'web1'), {ok: false, reason: 'script uptime is refused: /usr/bin/uptime changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)'});
	t.deepEqual(decideRun({...frame('unsafe'), entryDigest: uptimeDigest}, allowlist, unchanged, 'web1'), {ok: false, reason: 'script unsafe is refused: /tmp/unsafe is writable by others (mode 777)'});
});
