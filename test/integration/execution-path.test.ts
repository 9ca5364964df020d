/**
 * What executes is what was checked, over a real agent running as root: each way to slip another
 * file under an allowlisted name (a symbolic link owned by another user, an interpreter owned by
 * another user or replaced after load, `#!/usr/bin/env` without the interpreter named, a hook or a
 * hook interpreter owned by another user or replaced) is refused at `allow` with its exact message
 * and at run with its exact reason and the agent's audit record; and 200 runs against a racer
 * that keeps swapping the script for another file never execute the other file. "Another user"
 * is `nobody`. Needs root (chown); skipped with the reason otherwise.
 */
import {spawn} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {chmodSync, chownSync, existsSync, lchownSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAllowlistFile, writeAllowlistFile} from '../../agent/home.js';
import {lookupUser} from '../../agent/users.js';
import {agentCli, controllerCredentials, createController, enrolAgent, freePort, logEvents, rawExchange, requestLine, runCli, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');
const skipReason = isRoot ? 'there is no user "nobody" on this host to own the files' : `this test runs as uid ${process.getuid?.() ?? '?'}, not root: only root can give files to another user`;

if (!isRoot || !nobody) {
	test('what executes is what was checked: skipped', t => {
		t.log(`SKIPPED: ${skipReason}`);
		t.pass();
	});
}

const rootTest = isRoot && nobody ? test.serial : test.skip;
const changed = (path: string) => `${path} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`;
const ownedByNobody = (path: string, link = false) => `${link ? 'the symbolic link ' : ''}${path} is owned by uid ${nobody?.uid ?? 65_534}, neither root nor the agent's user (uid 0)`;

/** A root-owned 0755 directory for the files of one test (mkdtemp makes 0700). */
function base(): string {
	const directory = temporaryDirectory('xi-exec-path-');
	chmodSync(directory, 0o755);
	return directory;
}

function file(path: string, body: string, owner?: number): string {
	writeFileSync(path, body, {mode: 0o755});
	chmodSync(path, 0o755);
	if (owner !== undefined) {
		chownSync(path, owner, owner);
	}

	return path;
}

/** Replaces a file by another inode under the same name (what an upgrade or an attacker does). */
function replace(path: string, body: string): void {
	file(`${path}.new`, body);
	renameSync(`${path}.new`, path);
}

type Fleet = {controller: string; agent: TestAgent; running: RunningAgent};

async function fleet(name: string, scripts: Record<string, string>, configure?: (agent: TestAgent) => void): Promise<Fleet> {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name, port: freePort()});
	const paths = agentPaths(agent.home);
	// Straight into allowlist.json: the agent's own checks at load are under test, not `allow`'s.
	writeAllowlistFile(paths, {scripts: Object.fromEntries(Object.entries(scripts).map(([script, path]) => [script, {path, description: script, timeoutSeconds: 30}]))});
	configure?.(agent);
	const running = await startAgent(agent);
	return {controller, agent, running};
}

type Outcome = {status: string; stdout: string; reason: string | undefined; records: Array<Record<string, unknown>>};

/** One run over mutual TLS with the controller's certificate; its result, and the agent's audit records for it. */
async function run(target: Fleet, script: string, args: string[] = []): Promise<Outcome> {
	const credentials = controllerCredentials(target.controller);
	const id = randomUUID();
	const reply = await rawExchange(target.agent.port, {...credentials, send: [requestLine({type: 'run', id, script, args, caller: 'ops'})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	const stdout = reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => frame['data'] as string).join('');
	// Runs in parallel append while this reads: the last line may be half written (this run's records are whole before its result is sent).
	const lines = readFileSync(agentPaths(target.agent.home).auditLog, 'utf8').split('\n').slice(0, -1);
	const records = lines.map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === id);
	return {status: String(result?.['status']), stdout, reason: result?.['reason'] as string | undefined, records};
}

/** The record a refusal at the execution boundary leaves: run.refused, denied, with the reason. */
function refusedRecord(outcome: Outcome): Record<string, unknown> | undefined {
	return outcome.records.find(record => record['event'] === 'run.refused');
}

async function reload(target: Fleet): Promise<void> {
	const from = target.running.lines.length;
	target.running.process.kill('SIGHUP');
	await waitFor(() => logEvents(target.running, 'allowlist.reloaded', from)[0], 'the agent to reload');
}

/**
 * The files both tables use: real/ (root, 0755) with hello, an interpreter owned by nobody and a
 * script naming it, an env script; `theirs` → real (a link owned by nobody), `ours` → real (root's).
 */
function layout() {
	const directory = base();
	const real = join(directory, 'real');
	mkdirSync(real, {mode: 0o755});
	file(join(real, 'hello'), '#!/bin/sh\necho "hello $*"\n');
	symlinkSync('real', join(directory, 'theirs'));
	lchownSync(join(directory, 'theirs'), nobody!.uid, nobody!.gid);
	symlinkSync('real', join(directory, 'ours'));
	const interpreter = file(join(real, 'their-interpreter'), '#!/bin/sh\nexec /bin/sh "$@"\n', nobody!.uid);
	const usesTheirs = file(join(real, 'uses-theirs'), `#!${interpreter}\necho hi\n`);
	const envSh = file(join(real, 'env-sh'), '#!/usr/bin/env sh\necho "env-sh $*"\n');
	return {directory, real, interpreter, usesTheirs, envSh};
}

rootTest('`allow` refuses each unsafe path with its reason and leaves the allowlist as it was', async t => {
	const {directory, real, interpreter} = layout();
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'allow1', port: freePort()});
	const env = {XI_EXEC_AGENT_HOME: agent.home};
	const allowlistBefore = readFileSync(agentPaths(agent.home).allowlist, 'utf8');

	const cases = [
		{title: 'a directory component that is a symbolic link owned by another user', args: ['x', join(directory, 'theirs', 'hello')], reason: ownedByNobody(join(directory, 'theirs'), true)},
		{title: 'an interpreter owned by another user', args: ['x', join(real, 'uses-theirs')], reason: ownedByNobody(interpreter)},
		{title: '#!/usr/bin/env without the interpreter named', args: ['x', join(real, 'env-sh')], reason: `${join(real, 'env-sh')} starts with #!/usr/bin/env sh, which finds its interpreter on PATH; name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)`},
		{title: '#!/usr/bin/env NAME with another interpreter named', args: ['x', join(real, 'env-sh'), '--interpreter', '/usr/bin/perl'], reason: `${join(real, 'env-sh')} starts with #!/usr/bin/env sh, which is not \`env perl\` for the interpreter /usr/bin/perl its entry names`},
		{title: 'an interpreter named for a file without #!', args: ['x', '/usr/bin/env', '--interpreter', '/bin/sh'], reason: '/usr/bin/env is not a #! script, but its entry names the interpreter /bin/sh'},
	];
	for (const c of cases) {
		const result = await runCli(agentCli, ['allow', ...c.args], env);
		t.is(result.code, 2, c.title);
		t.is(result.stderr, `xi-exec-agent: Refusing to allow x: ${c.reason}. (SCRIPT_UNSAFE)\n`, c.title);
	}

	t.is(readFileSync(agentPaths(agent.home).allowlist, 'utf8'), allowlistBefore, 'nothing was added');
	t.false(existsSync(agentPaths(agent.home).auditLog), 'no agent ran, so no audit record: `allow` refuses before anything is written');

	// The neighbours that must pass: a root-owned link on the way, and env with its interpreter named.
	const ours = await runCli(agentCli, ['allow', 'ours', join(directory, 'ours', 'hello')], env);
	t.is(ours.code, 0, ours.stderr);
	const named = await runCli(agentCli, ['allow', 'env-sh', join(real, 'env-sh'), '--interpreter', '/bin/sh'], env);
	t.is(named.code, 0, named.stderr);
	t.like(readAllowlistFile(agentPaths(agent.home)).scripts['env-sh'], {interpreter: '/bin/sh'});
});

rootTest('a run is refused, with its reason in the result and the audit record, when a path turns unsafe or an interpreter changes', async t => {
	const {directory, real, interpreter: theirInterpreter, usesTheirs, envSh} = layout();
	const tool = file(join(real, 'tool'), '#!/bin/sh\nexec /bin/sh "$@"\n');
	const target = await fleet('path1', {
		theirs: join(directory, 'theirs', 'hello'),
		swapped: join(directory, 'ours', 'hello'),
		'uses-theirs': usesTheirs,
		'uses-tool': file(join(real, 'uses-tool'), `#!${tool}\necho "tool ran $*"\n`),
		'env-sh': envSh,
	});
	t.teardown(async () => target.running.stop());

	// Both a nested interpreter (a script) and a link on the way run when nothing is wrong.
	t.like(await run(target, 'uses-tool', ['a b']), {status: 'ok', stdout: 'tool ran a b\n'});
	t.like(await run(target, 'swapped', ['x']), {status: 'ok', stdout: 'hello x\n'});

	// After load: the link on the way is given to another user, the nested interpreter replaced.
	lchownSync(join(directory, 'ours'), nobody!.uid, nobody!.gid);
	replace(tool, '#!/bin/sh\necho replaced\n');
	const cases = [
		{script: 'theirs', reason: `script theirs is refused: ${ownedByNobody(join(directory, 'theirs'), true)}`},
		{script: 'swapped', reason: `script swapped is refused: ${ownedByNobody(join(directory, 'ours'), true)}`},
		{script: 'uses-theirs', reason: `script uses-theirs is refused: ${ownedByNobody(theirInterpreter)}`},
		{script: 'uses-tool', reason: `script uses-tool is refused: ${changed(tool)}`},
		{script: 'env-sh', reason: `script env-sh is refused: ${envSh} starts with #!/usr/bin/env sh, which finds its interpreter on PATH; name the interpreter in the allowlist entry ("interpreter": "/usr/bin/NAME", or --interpreter with xi-exec-agent allow)`},
	];
	for (const c of cases) {
		const outcome = await run(target, c.script);
		t.is(outcome.status, 'denied', c.script);
		t.is(outcome.reason, c.reason, c.script);
		t.is(outcome.stdout, '', c.script);
		t.like(refusedRecord(outcome), {event: 'run.refused', script: c.script, status: 'denied', reason: c.reason}, c.script);
		t.deepEqual(outcome.records.map(record => record['event']), ['request.received', 'run.refused'], `${c.script}: nothing ran`);
	}

	// A reload takes the replaced interpreter as it now is.
	await reload(target);
	t.like(await run(target, 'uses-tool'), {status: 'ok', stdout: 'replaced\n'});
});

rootTest('the auth hook and its interpreter get the same checks at load and at every call', async t => {
	const directory = base();
	const allow = '#!/bin/sh\ncat > /dev/null\necho \'{"allow": true, "reason": "hook says yes"}\'\n';
	const hook = file(join(directory, 'hook'), allow);
	const interpreter = file(join(directory, 'interpreter'), '#!/bin/sh\nexec /bin/sh "$@"\n');
	const script = file(join(directory, 'hello'), '#!/bin/sh\necho hello\n');
	const target = await fleet('hook1', {hello: script}, agent => {
		const paths = agentPaths(agent.home);
		writeFileSync(paths.config, JSON.stringify({...JSON.parse(readFileSync(paths.config, 'utf8')) as object, hook, hookTimeoutMs: 30_000}), {mode: 0o600});
	});
	t.teardown(async () => target.running.stop());
	const denied = async (title: string, reason: string) => {
		const outcome = await run(target, 'hello');
		t.is(outcome.status, 'denied', title);
		t.is(outcome.reason, reason, title);
		t.like(outcome.records.find(record => record['event'] === 'decision'), {allowed: false, reason}, title);
		t.false(outcome.records.some(record => record['event'] === 'run.start'), `${title}: nothing ran`);
	};

	t.like(await run(target, 'hello'), {status: 'ok', stdout: 'hello\n'});

	// At a call: the hook given to another user after load.
	chownSync(hook, nobody!.uid, nobody!.gid);
	await denied('a hook owned by another user (after load)', `the auth hook is refused: ${ownedByNobody(hook)}`);
	// At load: the same, and the agent says so.
	await reload(target);
	t.like(logEvents(target.running, 'hook.unusable').at(-1), {hook, reason: `${ownedByNobody(hook)}; every run is denied until it is fixed and the agent reloaded (SIGHUP)`});
	await denied('a hook owned by another user (at load)', `the auth hook is refused: ${ownedByNobody(hook)}`);

	// A hook interpreter owned by another user.
	chownSync(hook, 0, 0);
	replace(hook, allow.replace('#!/bin/sh', `#!${interpreter}`));
	chownSync(interpreter, nobody!.uid, nobody!.gid);
	await reload(target);
	await denied('a hook interpreter owned by another user', `the auth hook is refused: ${ownedByNobody(interpreter)}`);

	// Fixed and reloaded, it allows; replaced after load (or its interpreter), it denies until reloaded.
	chownSync(interpreter, 0, 0);
	await reload(target);
	t.like(await run(target, 'hello'), {status: 'ok', stdout: 'hello\n'});
	replace(interpreter, '#!/bin/sh\nexec /bin/sh "$@"\n');
	await denied('a hook interpreter replaced after load', `the auth hook is refused: ${interpreter} changed since the agent loaded it; check it, then reload the agent (SIGHUP)`);
	await reload(target);
	replace(hook, allow);
	await denied('a hook replaced after load', `the auth hook is refused: ${hook} changed since the agent loaded it; check it, then reload the agent (SIGHUP)`);
});

rootTest('200 runs against a racer swapping the script for another file never execute the other file', async t => {
	const directory = base();
	const path = join(directory, 'swapped');
	const good = file(join(directory, 'good'), '#!/bin/sh\necho good\n');
	const marker = join(directory, 'evil-ran');
	const evil = file(join(directory, 'evil'), `#!/bin/sh\necho evil\ntouch ${marker}\n`);
	// The allowlisted name holds the good file's inode at load (a hard link to it).
	linkSync(good, path);
	const racerSource = `
		const fs = require('node:fs');
		const [good, evil, path, counter] = process.argv.slice(1);
		let swaps = 0;
		const swap = from => { fs.rmSync(path + '.tmp', {force: true}); fs.linkSync(from, path + '.tmp'); fs.renameSync(path + '.tmp', path); swaps++; };
		swap(good);
		fs.writeFileSync(counter, 'ready');
		for (let round = 1; ; round++) { swap(evil); swap(good); if (round % 500 === 0) fs.writeFileSync(counter, String(swaps)); }
	`;
	const counter = join(directory, 'swaps');
	const target = await fleet('race1', {swapped: path});
	t.teardown(async () => target.running.stop());
	const racer = spawn(process.execPath, ['-e', racerSource, good, evil, path, counter], {stdio: 'ignore'});
	t.teardown(() => racer.kill('SIGKILL'));
	await waitFor(() => (existsSync(counter) ? true : undefined), 'the racer to start');

	const outcomes: Outcome[] = [];
	const queue = Array.from({length: 200}, (_, index) => index);
	await Promise.all(Array.from({length: 4}, async () => {
		while (queue.shift() !== undefined) {
			outcomes.push(await run(target, 'swapped'));
		}
	}));
	racer.kill('SIGKILL');

	const ran = outcomes.filter(outcome => outcome.status === 'ok');
	const refused = outcomes.filter(outcome => outcome.status === 'denied');
	const swaps = readFileSync(counter, 'utf8');
	t.log(`${ran.length} runs executed the checked file, ${refused.length} were refused (the name held the other file or none), ${swaps} swaps`);
	t.is(ran.length + refused.length, 200, JSON.stringify(outcomes.filter(outcome => outcome.status !== 'ok' && outcome.status !== 'denied').slice(0, 3)));
	t.true(ran.every(outcome => outcome.stdout === 'good\n'), 'every executed run ran the checked file');
	t.false(existsSync(marker), 'the other file never ran');
	t.true(refused.every(outcome => outcome.reason === `script swapped is refused: ${changed(path)}`), JSON.stringify(refused.map(outcome => outcome.reason).slice(0, 3)));
	t.true(refused.every(outcome => refusedRecord(outcome)?.['reason'] === outcome.reason), 'each refusal is in the audit trail');
	t.not(swaps, 'ready', 'the racer was swapping throughout');

	// Each swap links the good file again, which moves its inode's ctime: the checked file itself is
	// no longer what was loaded, so every raced run may be refused. Given back its name, it is still
	// refused until a reload takes it as it now is; then it runs. So the refusals above were the
	// change, not an agent that refuses everything.
	await waitFor(() => (racer.exitCode !== null || racer.signalCode !== null ? true : undefined), 'the racer to stop');
	rmSync(`${path}.tmp`, {force: true});
	linkSync(good, `${path}.tmp`);
	renameSync(`${path}.tmp`, path);
	t.like(await run(target, 'swapped'), {status: 'denied', reason: `script swapped is refused: ${changed(path)}`}, 'changed since load');
	await reload(target);
	t.like(await run(target, 'swapped'), {status: 'ok', stdout: 'good\n'}, 'the checked file, reloaded, runs');
});
