/**
 * The neighbours an attacker tries of each allowlist case, over one real agent (root, real
 * certificates, real scripts, raw frames over mutual TLS): how a path is written (`..`, `//`,
 * `/./`, a trailing slash, NUL and other control characters, a lone surrogate, another Unicode
 * normalisation form), script names that look like allowed ones, arguments (at the limits and past
 * them up to ARG_MAX, beginning with `-`, with newlines, escapes and forged JSON), a symbolic link
 * on the path whose target holds a control character or bytes that are not UTF-8 (and a `#!`
 * interpreter path with an escape), and files that
 * change between the check and the exec (a directory on the path swapped for a symbolic link or
 * made writable, while the auth hook holds the run), between a description and a run (a script
 * replaced by rename), or after load (a directory's mode or owner, a script's owner).
 *
 * Every row asserts the exact result (status and reason) and the records the run left in the
 * agent's audit log; the audit log is read back with jq, a parser we did not write. The
 * existing tables this one adds to: execution.test.ts (bad names, NUL in an argument, shell
 * metacharacters, a script made group-writable), execution-path.test.ts (links and interpreters
 * owned by another user, a racer swapping the script), open-writer.test.ts (a process holding a
 * file open for writing). Needs root (chown); skipped with the reason otherwise.
 */
import {createHash} from 'node:crypto';
import {execFileSync} from 'node:child_process';
import {chmodSync, chownSync, closeSync, existsSync, lchownSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {createServer, type Server} from 'node:net';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {lookupUser} from '../../agent/users.js';
import {describedEntryDigest} from '../../source/run/entry-digest.js';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import {agentCli, controllerCredentials, installScript, rawExchange, requestLine, runCli, temporaryDirectory} from '../helpers/fleet.js';
import {baseDirectory, changedSinceLoad, executable, reload, runOn, tableAgent, type Outcome, type TableAgent} from './agent-run.js';

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');
const rootTest = isRoot && nobody ? test.serial : test.skip;
if (!isRoot || !nobody) {
	test('neighbours: skipped', t => {
		t.log(`SKIPPED: ${isRoot ? 'there is no user "nobody" on this host to own the files' : `this test runs as uid ${process.getuid?.() ?? '?'}, not root: only root can give files to another user`}`);
		t.pass();
	});
}

const refusedEvents = ['request.received', 'run.refused'];
const ranEvents = ['request.received', 'decision', 'run.start', 'run.finish'];
const echo = '#!/bin/sh\nfor a in "$@"; do printf \'[%s]\\n\' "$a"; done\n';

/** The auth hook: tells the test it was asked (the files are checked), waits for its word, allows. */
function pausingHook(socket: string): string {
	return installScript('hook', `#!/usr/bin/env node
const socket = require('node:net').connect(${JSON.stringify(socket)});
process.stdin.resume();
socket.write('checked\\n');
socket.on('data', () => { process.stdout.write(JSON.stringify({allow: true, reason: 'the test had its turn'})); socket.end(); });
`);
}

/** What the next run's hook call does before it allows (after the check, before the start). */
const during = {current: (): void => undefined};

type Setup = {target: TableAgent; server: Server; d: string; paths: Record<string, string>};
let setup: Setup | undefined;

test.before(async () => {
	if (!isRoot || !nobody) {
		return;
	}

	const d = baseDirectory('xi-exec-neighbours-');
	const directory = (...parts: string[]) => {
		const path = join(d, ...parts);
		mkdirSync(path, {recursive: true, mode: 0o755});
		chmodSync(path, 0o755);
		return path;
	};

	const plain = directory('plain');
	const paths: Record<string, string> = {
		echo: executable(join(plain, 'echo'), echo),
		argv: executable(join(plain, 'argv'), '#!/bin/sh\necho "$#"\nprintf \'%s\\0\' "$@" | sha256sum\n'),
		py: executable(join(plain, 'py'), '#!/usr/bin/python3\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n'),
	};
	// Files whose names a path written another way would reach if the agent normalised or re-encoded it.
	executable(join(plain, 'ec\nho'), echo);
	executable(join(plain, 'ec\u001B[2Jho'), echo);
	executable(join(plain, 'ec\uFFFDho'), echo);
	executable(join(plain, 'caf\u00E9'), echo);
	for (const name of ['swap', 'swap-theirs', 'made-writable']) {
		paths[name] = executable(join(directory(name, 'dir'), 'hello'), '#!/bin/sh\necho checked\n');
		executable(join(directory(name, 'other'), 'hello'), '#!/bin/sh\necho other\n');
	}

	for (const name of ['dir-group', 'dir-others', 'dir-sticky', 'dir-sticky-staff', 'dir-theirs', 'owner-theirs', 'owner-group', 'owner-back', 'renamed']) {
		paths[name] = executable(join(directory(name), 'hello'), `#!/bin/sh\necho ${name}\n`);
	}

	// Directories reached through a symbolic link whose target holds a control character or bytes that are not UTF-8.
	const linked = directory('linked');
	for (const name of ['dir\nx', 'dir\u001B[2Jx', 'dir\u0085x', 'dir\uFFFDx', 'esc-bin\u001B']) {
		executable(join(directory('linked', name), 'echo'), `#!/bin/sh\necho ${JSON.stringify(name)}\n`);
	}

	const notUtf8 = Buffer.concat([Buffer.from(`${linked}/`), Buffer.from([0x64, 0x69, 0x72, 0xFF, 0x78])]);
	mkdirSync(notUtf8, {mode: 0o755});
	const notUtf8Echo = Buffer.concat([notUtf8, Buffer.from('/echo')]);
	writeFileSync(notUtf8Echo, '#!/bin/sh\necho "the bytes linked"\n', {mode: 0o755});
	chmodSync(notUtf8Echo, 0o755);
	symlinkSync('dir\nx', join(linked, 'nl'));
	symlinkSync(`${linked}/dir\u001B[2Jx`, join(linked, 'esc'));
	symlinkSync('dir\u0085x', join(linked, 'c1'));
	symlinkSync('nl', join(linked, 'hop'));
	symlinkSync(Buffer.from([0x64, 0x69, 0x72, 0xFF, 0x78]), join(linked, 'bad'));
	symlinkSync('/usr/bin/dash', join(linked, 'esc-bin\u001B', 'sh'));
	paths['shebang-escape'] = executable(join(plain, 'shebang-escape'), `#!${linked}/esc-bin\u001B/sh\necho ran\n`);
	// #! interpreter paths beyond ASCII: the kernel looks up the line's bytes. Read as latin1, café was cafÃ©, the decoy.
	const wraps = directory('wraps');
	executable(join(directory('wraps', 'caf\u00E9'), 'wrap'), '#!/bin/sh\necho "the interpreter named"\n');
	executable(join(directory('wraps', 'caf\u00C3\u00A9'), 'wrap'), '#!/bin/sh\necho "a decoy"\n');
	paths['shebang-utf8'] = executable(join(plain, 'shebang-utf8'), `#!${wraps}/caf\u00E9/wrap\n`);
	const latin1 = Buffer.concat([Buffer.from(`${wraps}/caf`), Buffer.from([0xE9])]);
	mkdirSync(latin1, {mode: 0o755});
	chmodSync(latin1, 0o755);
	writeFileSync(Buffer.concat([latin1, Buffer.from('/wrap')]), '#!/bin/sh\necho "the latin1 name"\n', {mode: 0o755});
	paths['shebang-latin1'] = executable(join(plain, 'shebang-latin1'), '');
	writeFileSync(paths['shebang-latin1'], Buffer.concat([Buffer.from('#!'), latin1, Buffer.from('/wrap\n')]));

	const entries: Record<string, {path: string; args?: unknown}> = {
		...Object.fromEntries(Object.entries(paths).map(([name, path]) => [name, {path}])),
		dotdot: {path: `${plain}/../plain/echo`},
		'double-slash': {path: `${plain}//echo`},
		'dot-component': {path: `${plain}/./echo`},
		'trailing-slash': {path: `${plain}/echo/`},
		'nul-in-path': {path: `${plain}/ec\u0000ho`},
		'newline-in-path': {path: `${plain}/ec\nho`},
		'escape-in-path': {path: `${plain}/ec\u001B[2Jho`},
		'surrogate-in-path': {path: `${plain}/ec\uD800ho`},
		'nfd-path': {path: `${plain}/cafe\u0301`},
		files: {path: paths['echo']!, args: {type: 'array', items: {type: 'string'}}},
		'link-newline': {path: `${linked}/nl/echo`},
		'link-escape': {path: `${linked}/esc/echo`},
		'link-c1': {path: `${linked}/c1/echo`},
		'link-two-hops': {path: `${linked}/hop/echo`},
		'link-not-utf8': {path: `${linked}/bad/echo`},
	};
	const socket = join(temporaryDirectory('xi-exec-hook-'), 'hook.sock');
	const server = createServer(connection => {
		connection.once('data', () => {
			during.current();
			during.current = () => undefined;
			connection.end('go\n');
		});
	});
	await new Promise<void>(resolve => server.listen(socket, resolve));
	const target = await tableAgent('nb1', entries, {configure(agent) {
		const home = agentPaths(agent.home);
		writeAgentConfig(home, {...readAgentConfig(home), hook: pausingHook(socket), hookInterpreter: process.execPath, hookTimeoutMs: 120_000});
	}});
	setup = {target, server, d, paths};
});

test.after.always(async () => {
	await setup?.target.running.stop();
	setup?.server.close();
});

function ready(): Setup {
	if (!setup) {
		throw new Error('the agent did not start');
	}

	return setup;
}

/** The agent's audit log as jq reads it: every line one JSON record, and this request's records. */
function auditByJq(requestId: string): Array<Record<string, unknown>> {
	const log = agentPaths(ready().target.agent.home).auditLog;
	const text = execFileSync('jq', ['-c', `select(.requestId == ${JSON.stringify(requestId)})`, log], {encoding: 'utf8'});
	return text.split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>);
}

function refused(t: import('ava').ExecutionContext, outcome: Outcome, script: string, reason: string, title = script): void {
	t.is(outcome.status, 'denied', `${title}: ${JSON.stringify(outcome.frames).slice(0, 300)}`);
	t.is(outcome.reason, reason, title);
	t.is(outcome.stdout, '', title);
	t.deepEqual(outcome.events, refusedEvents, `${title}: refused at the execution boundary, nothing asked or started`);
	t.like(outcome.records.at(-1), {event: 'run.refused', status: 'denied', reason}, title);
}

// --- How a path is written --------------------------------------------------------------------

const pathRows = (plain: string) => [
	{script: 'dotdot', reason: `${plain}/../plain/echo is not a normalised absolute path`},
	{script: 'double-slash', reason: `${plain}//echo is not a normalised absolute path`},
	{script: 'dot-component', reason: `${plain}/./echo is not a normalised absolute path`},
	{script: 'trailing-slash', reason: `${plain}/echo/ is not a normalised absolute path`},
	{script: 'nul-in-path', reason: `the path ${JSON.stringify(`${plain}/ec\u0000ho`)} holds a control character (U+0000); allowlist a path without one`},
	{script: 'newline-in-path', reason: `the path ${JSON.stringify(`${plain}/ec\nho`)} holds a control character (U+000A); allowlist a path without one`},
	{script: 'escape-in-path', reason: `the path ${JSON.stringify(`${plain}/ec\u001B[2Jho`)} holds a control character (U+001B); allowlist a path without one`},
	{script: 'surrogate-in-path', reason: `the path ${JSON.stringify(`${plain}/ec\uD800ho`)} is not well-formed Unicode (a lone surrogate), so it would name another file; allowlist the file's real name`},
	{script: 'nfd-path', reason: `${plain}/cafe\u0301 cannot be opened (ENOENT)`},
];

rootTest('a path written another way is refused, never normalised or re-encoded into a file that exists', async t => {
	const plain = join(ready().d, 'plain');
	for (const row of pathRows(plain)) {
		const outcome = await runOn(ready().target, row.script);
		refused(t, outcome, row.script, `script ${row.script} is refused: ${row.reason}`);
	}
});

rootTest('a symbolic link on the path whose target holds a control character, or bytes that are not UTF-8, is not followed; nor is a #! line with one', async t => {
	const linked = join(ready().d, 'linked');
	const rows = [
		{script: 'link-newline', reason: `the symbolic link ${linked}/nl points to "dir\\nx", which holds a control character (U+000A); link to a path without one`},
		{script: 'link-escape', reason: `the symbolic link ${linked}/esc points to ${JSON.stringify(`${linked}/dir\u001B[2Jx`)}, which holds a control character (U+001B); link to a path without one`},
		{script: 'link-c1', reason: `the symbolic link ${linked}/c1 points to "dir\u0085x", which holds a control character (U+0085); link to a path without one`},
		{script: 'link-two-hops', reason: `the symbolic link ${linked}/nl points to "dir\\nx", which holds a control character (U+000A); link to a path without one`},
		{script: 'link-not-utf8', reason: `the symbolic link ${linked}/bad points to "dir\uFFFDx", which is not UTF-8 (each U+FFFD there is a byte that is not), so it would name another file; link to a UTF-8 name`},
		{script: 'shebang-escape', reason: `${join(ready().d, 'plain')}/shebang-escape is a script whose #! line holds a control character (U+001B); write the line without one`},
		{script: 'shebang-latin1', reason: `${join(ready().d, 'plain')}/shebang-latin1 is a script whose #! line is not UTF-8, so the interpreter the agent would check is not the one the kernel would run; write the line in UTF-8`},
	];
	for (const row of rows) {
		const outcome = await runOn(ready().target, row.script);
		const reason = `script ${row.script} is refused: ${row.reason}`;
		refused(t, outcome, row.script, reason);
		t.like(auditByJq(outcome.records[0]!['requestId'] as string).at(-1), {event: 'run.refused', script: row.script, status: 'denied', reason}, `${row.script}: the audit line, as jq reads it`);
	}
});

rootTest('a #! interpreter path in UTF-8 is the file the kernel would run, not the one its bytes name read as latin1', async t => {
	const outcome = await runOn(ready().target, 'shebang-utf8');
	t.is(outcome.status, 'ok', JSON.stringify(outcome.frames).slice(0, 300));
	t.is(outcome.stdout, 'the interpreter named\n');
	t.deepEqual(outcome.events, ranEvents);
});

rootTest('`allow` refuses the same paths (those argv can carry), and adds nothing', async t => {
	const {target, d} = ready();
	const plain = join(d, 'plain');
	const env = {XI_EXEC_AGENT_HOME: target.agent.home};
	const before = readFileSync(agentPaths(target.agent.home).allowlist, 'utf8');
	for (const row of pathRows(plain).filter(candidate => !['nul-in-path', 'surrogate-in-path'].includes(candidate.script))) {
		const path = (/^(?:the path )?("?)(.+?)\1 (?:is|holds|cannot)/.exec(row.reason)?.[2] ?? '').replaceAll('\\n', '\n').replaceAll('\\u001b', '\u001B');
		const result = await runCli(agentCli, ['allow', 'x', path], env);
		t.is(result.code, 2, row.script);
		t.is(result.stderr, `xi-exec-agent: Refusing to allow x: ${row.reason}. (SCRIPT_UNSAFE)\n`, row.script);
	}

	t.is(readFileSync(agentPaths(target.agent.home).allowlist, 'utf8'), before);
});

// --- Script names that look like allowed ones ---------------------------------------------------

const lookAlikes = [
	{title: 'Cyrillic е and с', name: '\u0435\u0441ho'},
	{title: 'fullwidth letters', name: '\uFF45\uFF43\uFF48\uFF4F'},
	{title: 'a combining accent (NFD)', name: 'e\u0301cho'},
	{title: 'a precomposed accent (NFC)', name: '\u00E9cho'},
	{title: 'a zero-width space', name: 'echo\u200B'},
	{title: 'a right-to-left override', name: '\u202Eohce'},
	{title: 'a soft hyphen', name: 'ec\u00ADho'},
	{title: 'a byte order mark', name: '\uFEFFecho'},
	{title: 'NEL, a C1 control', name: 'echo\u0085'},
	{title: 'a non-breaking hyphen', name: 'dir\u2011group'},
	{title: 'a Kelvin sign for k (NFKC folds it)', name: 'wor\u212A'},
];

rootTest('a script name that looks like an allowed one is refused before any lookup, and recorded as sent', async t => {
	for (const row of lookAlikes) {
		const outcome = await runOn(ready().target, row.name);
		refused(t, outcome, row.name, `script name ${JSON.stringify(row.name)} is not a valid name ([a-z0-9][a-z0-9._-]*)`, row.title);
		t.is(outcome.records.at(-1)?.['script'], row.name, `${row.title}: the record holds the name sent`);
	}
});

rootTest('`allow` and the controller refuse the same look-alike names (exit 2, NAME_INVALID)', async t => {
	const {target, paths} = ready();
	for (const row of lookAlikes.filter(candidate => !candidate.name.includes('\u0085'))) {
		const result = await runCli(agentCli, ['allow', row.name, paths['echo']!], {XI_EXEC_AGENT_HOME: target.agent.home});
		t.is(result.code, 2, row.title);
		t.is(result.stderr, `xi-exec-agent: script name ${JSON.stringify(row.name)} must match [a-z0-9][a-z0-9._-]*; usage: xi-exec-agent allow NAME /absolute/path. (NAME_INVALID)\n`, row.title);
	}
});

rootTest('a lone surrogate anywhere in a request (script name, argument, caller) is a malformed frame: an error, the connection closed, a protocol.error record', async t => {
	const {target} = ready();
	const rows: Array<[string, Record<string, unknown>]> = [['script', {script: 'echo\uD800'}], ['argument', {args: ['ok', 'a\uDC00']}], ['caller', {caller: 'ops\uD800'}]];
	for (const [title, fields] of rows) {
		const id = `surrogate-${title}`;
		const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'run', id, script: 'echo', args: [] as string[], caller: 'ops', ...fields})]});
		t.deepEqual(reply.frames.map(frame => ({type: frame['type'], id: frame['id'], code: frame['code'], message: frame['message']})), [{type: 'error', id, code: 'malformed', message: 'a string in the frame is not well-formed Unicode (a lone surrogate)'}], title);
		const records = auditByJq(id);
		t.deepEqual(records.map(record => record['event']), ['protocol.error'], `${title}: recorded as a protocol error, never as a request`);
		t.like(records[0], {event: 'protocol.error', requestId: id, reason: 'a string in the frame is not well-formed Unicode (a lone surrogate)'}, title);
	}
});

// --- Arguments ----------------------------------------------------------------------------------

const sha = (args: string[]) => createHash('sha256').update(args.map(argument => `${argument}\u0000`).join('')).digest('hex');

rootTest('argv at each limit arrives whole (sha256sum of what the script got); one byte or one argument past it is refused', async t => {
	const {target} = ready();
	for (const args of [Array.from({length: 64}, (_, index) => String(index % 10).repeat(512)), ['y'.repeat(8192)], ['é'.repeat(4096)]]) {
		const outcome = await runOn(target, 'argv', args);
		t.is(outcome.status, 'ok', outcome.reason);
		t.is(outcome.stdout, `${args.length}\n${sha(args)}  -\n`);
		t.deepEqual(outcome.events, ranEvents);
		t.deepEqual(auditByJq(outcome.records[0]!['requestId'] as string).find(record => record['event'] === 'request.received')?.['args'], args, 'the record holds the arguments exactly');
	}

	const over = [
		{args: Array.from({length: 65}, () => 'a'), reason: 'arguments refused: 65 arguments given; the limit is 64'},
		{args: [...Array.from({length: 4}, () => 'x'.repeat(8192)), 'z'], reason: 'arguments refused: arguments total 32769 bytes; the limit is 32768'},
		{args: ['y'.repeat(8193)], reason: 'arguments refused: argument 1 is 8193 bytes; the limit is 8192'},
	];
	for (const row of over) {
		refused(t, await runOn(target, 'argv', row.args), 'argv', row.reason);
	}
});

rootTest('an argv the size of ARG_MAX, or just under it, never reaches exec: the frame is refused as too large and nothing is recorded as run', async t => {
	const {target} = ready();
	const argMax = Number(execFileSync('getconf', ['ARG_MAX'], {encoding: 'utf8'}).trim());
	for (const size of [argMax, argMax - 1]) {
		const id = `arg-max-${size}`;
		const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'run', id, script: 'argv', args: ['x'.repeat(size - 10)], caller: 'ops'})]});
		t.deepEqual(reply.frames.map(frame => ({type: frame['type'], code: frame['code'], message: frame['message']})), [{type: 'error', code: 'too-large', message: 'a frame may not exceed 65536 bytes'}], String(size));
		t.deepEqual(auditByJq(id), [], 'no request was read, so none is recorded');
	}
});

rootTest('arguments beginning with "-" reach the script as data, not as its interpreter\'s options', async t => {
	const {target, d} = ready();
	const marker = join(d, 'option-ran');
	const asShell = await runOn(target, 'echo', ['-c', `touch ${marker}`, '--', '-', '-x']);
	t.is(asShell.stdout, `[-c]\n[touch ${marker}]\n[--]\n[-]\n[-x]\n`);
	const asPython = await runOn(target, 'py', ['-c', `open(${JSON.stringify(marker)}, "w")`, '-m', 'http.server']);
	t.is(asPython.stdout, `${JSON.stringify(['-c', `open(${JSON.stringify(marker)}, "w")`, '-m', 'http.server'])}\n`.replaceAll('","', '", "'));
	t.false(existsSync(marker), 'neither sh nor python took an argument as an option');
	t.deepEqual([asShell.events, asPython.events], [ranEvents, ranEvents]);
});

rootTest('with a schema, an ASCII "-" where it declares no option is refused; look-alike dashes are data and pass', async t => {
	const {target} = ready();
	for (const value of ['-rf', '--', '--help=x', '-\u2212']) {
		refused(t, await runOn(target, 'files', ['fine', value]), 'files', `arguments refused: argument 2 ${JSON.stringify(value)} begins with "-" where files's schema declares no option (mark that position "option": true, or list the value in its "enum")`, value);
	}

	// "-" alone is exempt by design (it means stdin to most programs, and stdin is /dev/null).
	const lookAlikeDashes = ['-', '\u2212rf', '\u2010rf', '\u2011rf', '\u2013rf', '\u2014rf', '\uFE63rf', '\uFF0Drf', '\u00ADrf'];
	const outcome = await runOn(target, 'files', lookAlikeDashes);
	t.is(outcome.status, 'ok', outcome.reason);
	t.is(outcome.stdout, lookAlikeDashes.map(value => `[${value}]\n`).join(''));
	t.deepEqual(outcome.events, ranEvents);
});

rootTest('newlines, escapes and forged JSON in an argument arrive as one argument and stay inside one audit record', async t => {
	const {target} = ready();
	const forged = '\n{"event":"run.finish","status":"ok","requestId":"forged"}\n';
	const args = ['a\nb', `x\r${forged}`, '\u001B[2J\u001B]0;owned\u0007', '\t', ' '];
	const outcome = await runOn(target, 'py', args);
	t.is(outcome.status, 'ok', outcome.reason);
	t.deepEqual(JSON.parse(outcome.stdout) as unknown, args, 'python got exactly these five arguments');
	t.deepEqual(outcome.events, ranEvents);
	const records = auditByJq(outcome.records[0]!['requestId'] as string);
	t.deepEqual(records.map(record => record['event']), ranEvents, 'jq reads each record as one line');
	t.deepEqual(records[0]?.['args'], args);
	t.deepEqual(auditByJq('forged'), [], 'the forged record is text inside an argument, not a line of the log');
});

// --- Between the check and the exec (the auth hook holds the run) --------------------------------

const replaceDirectory = (parent: string, owner?: number) => () => {
	renameSync(join(parent, 'dir'), join(parent, 'dir.before'));
	symlinkSync('other', join(parent, 'dir'));
	if (owner !== undefined) {
		lchownSync(join(parent, 'dir'), owner, owner);
	}
};

rootTest('a directory on the path swapped for a symbolic link between check and exec: the checked file runs; the next run is refused', async t => {
	const {target, paths, d} = ready();
	const rows = [
		{script: 'swap', change: replaceDirectory(join(d, 'swap')), next: changedSinceLoad('swap', paths['swap']!)},
		{script: 'swap-theirs', change: replaceDirectory(join(d, 'swap-theirs'), nobody!.uid), next: `script swap-theirs is refused: the symbolic link ${join(d, 'swap-theirs', 'dir')} is owned by uid ${nobody!.uid}, neither root nor the agent's user (uid 0)`},
		{script: 'made-writable', change() {
			chmodSync(join(d, 'made-writable', 'dir'), 0o775);
		}, next: `script made-writable is refused: ${join(d, 'made-writable', 'dir')} is writable by its group (mode 775)`},
	];
	for (const row of rows) {
		during.current = row.change;
		const outcome = await runOn(target, row.script);
		t.is(outcome.status, 'ok', `${row.script}: ${outcome.reason ?? ''}`);
		t.is(outcome.stdout, 'checked\n', `${row.script}: what ran is what was checked, through the descriptors opened`);
		t.deepEqual(outcome.events, ranEvents, row.script);
		refused(t, await runOn(target, row.script), row.script, row.next, `${row.script}, the next run`);
	}
});

rootTest('a process opens a Python script for writing while the auth hook holds the run: refused just before the start (ETXTBSY); closed, it runs', async t => {
	const {target, paths} = ready();
	const path = paths['py']!;
	const writer: {fd?: number} = {};
	during.current = () => {
		writer.fd = openSync(path, 'r+');
	};

	const outcome = await runOn(target, 'py', ['a']);
	closeSync(writer.fd!);
	const reason = `script py is refused: ${path} is open for writing by another process (ETXTBSY), and its interpreter reads it only after the start, so what runs could differ from what was checked; close it (fuser -v ${path} names the process), then run again`;
	t.like(outcome, {status: 'denied', reason, stdout: ''});
	t.deepEqual(outcome.events, ['request.received', 'decision', 'run.refused'], 'opened after the boundary\'s checks: the probe just before the start sees it');
	t.like(auditByJq(outcome.records[0]!['requestId'] as string).at(-1), {event: 'run.refused', script: 'py', status: 'denied', reason});
	const after = await runOn(target, 'py', ['a']);
	t.like(after, {status: 'ok', stdout: '["a"]\n'}, 'once nobody holds it open for writing');
	t.deepEqual(after.events, ranEvents);
});

// --- After load: a directory's mode or owner, a script's owner ------------------------------------

rootTest('a directory on the path made writable or given away after load is refused; a root-owned sticky directory is not', async t => {
	const {target, paths, d} = ready();
	const directoryOf = (name: string) => join(d, name);
	chmodSync(directoryOf('dir-group'), 0o775);
	chmodSync(directoryOf('dir-others'), 0o757);
	chmodSync(directoryOf('dir-sticky'), 0o1777);
	chownSync(directoryOf('dir-sticky-staff'), 0, 50);
	chmodSync(directoryOf('dir-sticky-staff'), 0o1775);
	chownSync(directoryOf('dir-theirs'), nobody!.uid, nobody!.gid);
	const rows = [
		{script: 'dir-group', reason: `${directoryOf('dir-group')} is writable by its group (mode 775)`},
		{script: 'dir-others', reason: `${directoryOf('dir-others')} is writable by others (mode 757)`},
		{script: 'dir-sticky-staff', reason: `${directoryOf('dir-sticky-staff')} is writable by its group (mode 1775, sticky: exempt only when owned by root and its group (gid 50) is root's or cannot write)`},
		{script: 'dir-theirs', reason: `${directoryOf('dir-theirs')} is owned by uid ${nobody!.uid}, neither root nor the agent's user (uid 0)`},
	];
	for (const row of rows) {
		refused(t, await runOn(target, row.script), row.script, `script ${row.script} is refused: ${row.reason}`);
	}

	const sticky = await runOn(target, 'dir-sticky');
	t.like(sticky, {status: 'ok', stdout: 'dir-sticky\n'}, `1777 root:root, like /tmp: ${paths['dir-sticky']!}`);
});

rootTest('a script whose owner changes after load is refused: given away, its group changed, or given away and back', async t => {
	const {target, paths} = ready();
	chownSync(paths['owner-theirs']!, nobody!.uid, nobody!.gid);
	chownSync(paths['owner-group']!, 0, nobody!.gid);
	chownSync(paths['owner-back']!, nobody!.uid, nobody!.gid);
	chownSync(paths['owner-back']!, 0, 0);
	refused(t, await runOn(target, 'owner-theirs'), 'owner-theirs', `script owner-theirs is refused: ${paths['owner-theirs']!} is owned by uid ${nobody!.uid}, neither root nor the agent's user (uid 0)`);
	refused(t, await runOn(target, 'owner-group'), 'owner-group', changedSinceLoad('owner-group', paths['owner-group']!));
	refused(t, await runOn(target, 'owner-back'), 'owner-back', changedSinceLoad('owner-back', paths['owner-back']!));
});

// --- Between a description and a run -------------------------------------------------------------

async function describedDigest(target: TableAgent, script: string): Promise<string> {
	const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'describe'})]});
	const scripts = reply.frames.find(frame => frame['type'] === 'description')?.['scripts'] as ScriptDescription[] | undefined;
	const entry = scripts?.find(candidate => candidate.name === script);
	if (!entry) {
		throw new Error(`no description of ${script}: ${JSON.stringify(reply.frames)}`);
	}

	return describedEntryDigest(entry);
}

rootTest('a script replaced by rename between describe and run is refused; after a reload, the run planned with the old description is refused as planned with another entry', async t => {
	const {target, paths} = ready();
	const path = paths['renamed']!;
	const planned = await describedDigest(target, 'renamed');
	executable(`${path}.new`, '#!/bin/sh\necho replaced\n');
	renameSync(`${path}.new`, path);
	refused(t, await runOn(target, 'renamed', [], {entryDigest: planned}), 'renamed', changedSinceLoad('renamed', path));
	await reload(target);
	const now = await describedDigest(target, 'renamed');
	t.not(now, planned);
	const outcome = await runOn(target, 'renamed', [], {entryDigest: planned});
	refused(t, outcome, 'renamed', `script renamed is refused: the controller planned this run with another allowlist entry for renamed on nb1 (planned ${planned.slice(0, 12)}…, now ${now.slice(0, 12)}…): its description of this agent is out of date; nothing ran`);
	t.like(await runOn(target, 'renamed', [], {entryDigest: now}), {status: 'ok', stdout: 'replaced\n'}, 'planned with the description as it is now, it runs');
	rmSync(`${path}.new`, {force: true});
});
