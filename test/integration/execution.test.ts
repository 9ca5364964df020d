/**
 * The execution boundary and the agent's hardening, end to end: a real `xi-exec-agent start`
 * process, real scripts (test/fixtures, copied into a private directory), the real `xi-exec run`
 * CLI or raw frames over mutual TLS with the controller's certificate.
 *
 * The tests run one at a time: thirty CLI processes started at once on a small machine starve
 * the agent and this client enough to trip the handshake and connect timeouts under test.
 */
import {randomUUID} from 'node:crypto';
import {appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, realpathSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {runCommand} from '../../source/commands/run.js';
import {controllerPaths} from '../../source/home.js';
import {isXiError} from '../../source/errors.js';
import {
	agentCli,
	controllerCli,
	controllerCredentials,
	createController,
	enrolAgent,
	fixtures,
	freePort,
	installFixture,
	logEvents,
	rawExchange,
	requestLine,
	runCli,
	setAgentLimits,
	startAgent,
	temporaryDirectory,
	waitFor,
	type RawOptions,
	type RunningAgent,
	type TestAgent,
} from '../helpers/fleet.js';

const outputCapBytes = 4096;
const idleTimeoutMs = 3000;
const scriptEnvironmentKeys = ['LANG', 'PATH', 'XI_EXEC_CALLER', 'XI_EXEC_REQUEST_ID', 'XI_EXEC_SCRIPT'];

type Fleet = {
	controllerHome: string;
	credentials: {key: string; cert: string; ca: string};
	agent: TestAgent;
	running: RunningAgent;
	/** The same scripts, on an agent whose Object.prototype was polluted before it started. */
	polluted: TestAgent;
	pollutedRunning: RunningAgent;
	paths: Scripts;
};

type Scripts = {echo: string; touch: string; group: string; bytes: string; show: string; identity: string; writable: string; edited: string};

let fleet: Fleet | undefined;
const stops: Array<() => Promise<void>> = [];

test.before(async () => {
	const controllerHome = await createController();
	const paths: Scripts = {
		echo: installFixture('echo-args.sh'),
		touch: installFixture('touch-marker.sh'),
		group: installFixture('leave-grandchild.sh'),
		bytes: installFixture('print-bytes.sh'),
		show: installFixture('show-descriptors-and-environment.sh'),
		identity: installFixture('identity.sh'),
		writable: installFixture('echo-args.sh'),
		edited: installFixture('echo-args.sh'),
	};
	const agent = await enrolAgent(controllerHome, {name: 'runner', port: freePort(), scripts: paths});
	// A generous handshake timeout: this machine may be loaded, and the handshake is not under test here.
	setAgentLimits(agent, {outputCapBytes, idleTimeoutMs, killGraceMs: 500, handshakeTimeoutMs: 60_000});
	const polluted = await enrolAgent(controllerHome, {name: 'polluted', port: freePort(), scripts: {echo: paths.echo, show: paths.show, identity: paths.identity}});
	setAgentLimits(polluted, {handshakeTimeoutMs: 60_000});
	const running = await startAgent(agent);
	stops.push(running.stop);
	const pollutedRunning = await startAgent(polluted, {nodeArgs: ['--import', join(fixtures, 'pollute-prototype.mjs')]});
	stops.push(pollutedRunning.stop);
	fleet = {controllerHome, credentials: controllerCredentials(controllerHome), agent, running, polluted, pollutedRunning, paths};
});

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

function ready(): Fleet {
	if (!fleet) {
		throw new Error('the fleet did not start');
	}

	return fleet;
}

type RunDocument = {
	requestId: string;
	script: string;
	args: string[];
	results: Array<{agent: string; status: string; exitCode: number | null; signal: string | null; stdout: string; stderr: string; truncated: boolean; durationMs: number; reason: string | null}>;
};

/** `xi-exec run SCRIPT --on AGENT --json [flags] -- ARGS`, parsed. */
async function cliRun(script: string, args: string[] = [], options: {on?: string; flags?: string[]} = {}) {
	const fleet = ready();
	const result = await runCli(controllerCli, ['run', script, '--on', options.on ?? 'runner', '--json', ...(options.flags ?? []), '--', ...args], {XI_EXEC_HOME: fleet.controllerHome});
	let document: RunDocument;
	try {
		document = JSON.parse(result.stdout) as RunDocument;
	} catch {
		throw new Error(`xi-exec run ${script} printed no JSON document (exit ${result.code}): ${result.stdout}${result.stderr}`);
	}

	return {code: result.code, stderr: result.stderr, document, result: document.results[0]!};
}

/** Raw lines (or bytes) to the agent over mutual TLS with the controller's certificate. */
async function raw(send: Array<string | Buffer>, options: Partial<RawOptions> = {}) {
	const fleet = ready();
	const from = fleet.running.lines.length;
	const reply = await rawExchange(fleet.agent.port, {ca: fleet.credentials.ca, key: fleet.credentials.key, cert: fleet.credentials.cert, send, ...options});
	// For a failure message: how the connection ended, and what the agent logged meanwhile.
	const context = JSON.stringify({secured: reply.secured, errorCode: reply.errorCode, gaveUp: reply.gaveUp, agent: fleet.running.lines.slice(from).filter(line => /tls\.refused|protocol\.error/.test(line))});
	return {...reply, context};
}

/** A result frame without the agent's signed audit head, which differs from run to run. */
function withoutHead(frame: Record<string, unknown>): Record<string, unknown> {
	const {agentHead: _agentHead, ...rest} = frame;
	return rest;
}

/** After any refusal, the agent still serves a normal run. */
async function stillServes(t: ExecutionContext) {
	const after = await cliRun('echo', ['still here']);
	t.is(after.result.status, 'ok', 'the agent must keep serving');
	t.is(after.result.stdout, '[still here]\n');
}

test.serial('an unknown script is denied with its reason', async t => {
	const {code, result, document} = await cliRun('nope');
	t.is(code, 1, JSON.stringify(result));
	t.like(result, {agent: 'runner', status: 'denied', exitCode: null, stdout: '', reason: 'script nope is not on runner\'s allowlist'});
	const refused = await waitFor(() => logEvents(ready().running, 'run.refused').find(entry => entry.requestId === document.requestId), 'run.refused in the agent\'s log');
	t.like(refused, {status: 'denied', reason: 'script nope is not on runner\'s allowlist'});
});

for (const name of ['../x', '../../bin/sh', '/bin/sh', 'Echo', '.echo', 'echo\u0000', 'echo\n', 'a b', '']) {
	test.serial(`a bad script name ${JSON.stringify(name)} is denied before any lookup`, async t => {
		const id = randomUUID();
		const reply = await raw([requestLine({type: 'run', id, script: name, args: [], caller: 'ops'})]);
		t.deepEqual(reply.frames.map(withoutHead), [{
			v: 1,
			type: 'result',
			id,
			status: 'denied',
			exitCode: null,
			signal: null,
			durationMs: 0,
			truncated: false,
			bytes: {stdout: 0, stderr: 0},
			reason: `script name ${JSON.stringify(name)} is not a valid name ([a-z0-9][a-z0-9._-]*)`,
		}]);
	});
}

test.serial('the controller CLI refuses a bad script name itself (exit 2)', async t => {
	const result = await runCli(controllerCli, ['run', '../x', '--on', 'runner'], {XI_EXEC_HOME: ready().controllerHome});
	t.is(result.code, 2);
	t.is(result.stderr, 'xi-exec: script name "../x" must match [a-z0-9][a-z0-9._-]*; usage: xi-exec run SCRIPT --on SELECTOR [-- ARGS...]. (NAME_INVALID)\n');
});

test.serial('a script made group-writable after load is denied, and runs again once it is safe and reloaded', async t => {
	const {paths, running} = ready();
	chmodSync(paths.writable, 0o775);
	const denied = await cliRun('writable', ['x']);
	t.is(denied.code, 1);
	t.like(denied.result, {status: 'denied', stdout: '', reason: `script writable is refused: ${paths.writable} is writable by its group (mode 775)`});

	// Its mode put back, its ctime still says it changed (anyone could have written it meanwhile).
	chmodSync(paths.writable, 0o755);
	const stillDenied = await cliRun('writable', ['x']);
	t.like(stillDenied.result, {status: 'denied', stdout: '', reason: `script writable is refused: ${paths.writable} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`});

	const from = running.lines.length;
	running.process.kill('SIGHUP');
	await waitFor(() => logEvents(running, 'allowlist.reloaded', from)[0], 'the agent to reload its allowlist');
	const allowed = await cliRun('writable', ['x']);
	t.like(allowed.result, {status: 'ok', stdout: '[x]\n'});
});

test.serial('a script changed since load is denied until the allowlist is reloaded', async t => {
	const {paths, running} = ready();
	appendFileSync(paths.edited, 'echo appended\n');
	const denied = await cliRun('edited', ['x']);
	t.like(denied.result, {status: 'denied', stdout: '', reason: `script edited is refused: ${paths.edited} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`});

	const from = running.lines.length;
	running.process.kill('SIGHUP');
	await waitFor(() => logEvents(running, 'allowlist.reloaded', from)[0], 'the agent to reload its allowlist');
	const allowed = await cliRun('edited', ['x']);
	t.like(allowed.result, {status: 'ok', stdout: '[x]\nappended\n'});
});

/** Live processes (zombies are dead: only their parent's wait() removes them) in a process group. */
function liveProcessesInGroup(group: number): number[] {
	const members: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) {
			continue;
		}

		let stat: string;
		try {
			stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
		} catch {
			continue;
		}

		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so split after the last ')'.
		const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		if (Number(pgrp) === group && state !== 'Z' && state !== 'X') {
			members.push(Number(entry));
		}
	}

	return members;
}

test.serial('a timeout kills the whole process group, a grandchild that ignores SIGTERM included', async t => {
	const {code, result} = await cliRun('group', [], {flags: ['--timeout', '2']});
	t.is(code, 1, JSON.stringify(result));
	t.like(result, {status: 'timeout', reason: 'killed after the 2 s timeout'});
	const script = Number(/^script (\d+)$/m.exec(result.stdout)?.[1]);
	const grandchild = Number(/^grandchild (\d+)$/m.exec(result.stdout)?.[1]);
	t.true(script > 0 && grandchild > 0, `the script reports its pids: ${result.stdout}`);
	t.not(script, grandchild);
	// SIGKILL has been sent to the group by the time the result arrives; the kernel may take a
	// moment to finish each process off, so wait for that rather than sample once.
	const left = await waitFor(() => (liveProcessesInGroup(script).length === 0 ? [] : undefined), `process group ${script} to be empty`, {giveUpMs: 20_000, state: () => liveProcessesInGroup(script)});
	t.deepEqual(left, []);
});

test.serial('output past the cap is dropped per stream and the result says truncated', async t => {
	const {code, result} = await cliRun('bytes', ['100000']);
	t.is(code, 0, JSON.stringify(result));
	t.like(result, {status: 'ok', exitCode: 0, truncated: true});
	t.is(result.stdout, 'x'.repeat(outputCapBytes));
	t.is(result.stderr, 'y'.repeat(outputCapBytes));
});

test.serial('output under the cap is not truncated', async t => {
	const {result} = await cliRun('bytes', ['100']);
	t.like(result, {status: 'ok', truncated: false, stdout: 'x'.repeat(100), stderr: 'y'.repeat(100)});
});

const metacharacters = ['--force', '$(touch MARKER)', '`touch MARKER`', 'a b', '; touch MARKER', '| touch MARKER', '&& touch MARKER', '> MARKER', '*', '$HOME', '\'"\\', 'line one\nline two', 'tab\there', ''];

test.serial('arguments with shell metacharacters arrive literally, as argv', async t => {
	const marker = join(temporaryDirectory(), 'pwned');
	const args = metacharacters.map(argument => argument.replaceAll('MARKER', marker));
	const {code, result, document} = await cliRun('echo', args);
	t.is(code, 0, JSON.stringify(result));
	t.deepEqual(document.args, args);
	t.is(result.stdout, args.map(argument => `[${argument}]\n`).join(''));
	t.false(existsSync(marker), 'no shell may have run');
});

/** Splits the output of show-descriptors-and-environment.sh. */
function parseShow(stdout: string) {
	const [environmentText = '', descriptorText = ''] = stdout.split('---\n');
	const environment = Object.fromEntries(environmentText.split('\n').filter(Boolean).map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
	const descriptors = Object.fromEntries([...descriptorText.matchAll(/ (\d+) -> (.+)$/gm)].map(match => [match[1]!, match[2]!]));
	return {environment, descriptors};
}

function checkShow(t: ExecutionContext, stdout: string, requestId: string) {
	const {environment, descriptors} = parseShow(stdout);
	t.deepEqual(Object.keys(environment).sort(), scriptEnvironmentKeys, 'only the fixed environment');
	t.is(environment['PATH'], '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
	t.is(environment['LANG'], 'C.UTF-8');
	t.is(environment['XI_EXEC_REQUEST_ID'], requestId);
	t.is(environment['XI_EXEC_SCRIPT'], 'show');
	t.regex(environment['XI_EXEC_CALLER'] ?? '', /^[^@]+@.+$/);

	t.is(descriptors['0'], '/dev/null', 'stdin is /dev/null');
	// node's 'pipe' stdio is a socketpair on Linux.
	t.regex(descriptors['1'] ?? '', /^(pipe|socket):\[\d+\]$/);
	t.regex(descriptors['2'] ?? '', /^(pipe|socket):\[\d+\]$/);
	t.not(descriptors['1'], descriptors['2']);
	// fd 3 and 4: the executable chain the agent checked and the child executed (run-script.ts):
	// the shell the script's #! names (/bin/sh is dash here), and the private copy of the script's
	// checked bytes that the shell reads (sealed-copy.ts): an unnamed file, in /dev/shm here.
	t.is(descriptors['3'], realpathSync('/bin/sh'), 'fd 3 is the interpreter, executed through its descriptor');
	t.regex(descriptors['4'] ?? '', /^\/dev\/shm\/#\d+ \(deleted\)$/, 'fd 4 is the private, unnamed copy of the script the shell reads');
	const others = Object.entries(descriptors).filter(([fd]) => !['0', '1', '2', '3', '4'].includes(fd));
	t.is(others.length, 1, `only the directory ls opened besides 0 to 4: ${JSON.stringify(descriptors)}`);
	t.regex(others[0]?.[1] ?? '', /^\/proc\/\d+\/fd$/);
}

test.serial('a script inherits only stdin (/dev/null), stdout and stderr, and only PATH, LANG and XI_EXEC_*', async t => {
	const {code, result, document} = await cliRun('show');
	t.is(code, 0, JSON.stringify(result));
	checkShow(t, result.stdout, document.requestId);
});

test.serial('a NUL byte in an argument is refused by the controller CLI (exit 2) before anything is sent', async t => {
	const fleet = ready();
	// The kernel cannot pass a NUL inside argv at all (node refuses to spawn it), so the
	// controller's own check is exercised where argv would hand it over: the run command itself.
	t.throws(() => runCli(controllerCli, ['run', 'echo', '--on', 'runner', '--', 'a\u0000b']), {code: 'ERR_INVALID_ARG_VALUE'});
	const from = fleet.running.lines.length;
	const error = await runCommand(controllerPaths(fleet.controllerHome), {script: 'echo', args: ['fine', 'a\u0000b'], on: ['runner'], parallel: 1, timeoutSeconds: 5, json: true, dryRun: false}, {
		stdout() {
			t.fail('nothing may be printed');
		},
		stderr() {
			t.fail('nothing may be printed');
		},
		onInterrupt() {
			// Not interrupted.
		},
	}).then(() => undefined, (error_: unknown) => error_);
	t.true(isXiError(error));
	t.like(error, {code: 'ARGS_INVALID', exitStatus: 2, message: 'Arguments refused: argument 2 contains a NUL byte.'});
	t.deepEqual(logEvents(fleet.running, 'request.received', from), [], 'nothing reached the agent');
});

test.serial('a NUL byte in an argument sent raw is refused by the agent, before the allowlist is consulted', async t => {
	const fleet = ready();
	const marker = join(temporaryDirectory(), 'ran');
	for (const script of ['touch', 'not-on-the-allowlist']) {
		const id = randomUUID();
		const reply = await raw([requestLine({type: 'run', id, script, args: [`${marker}\u0000.sh`], caller: 'ops'})]);
		t.deepEqual(reply.frames.map(withoutHead), [{v: 1, type: 'result', id, status: 'denied', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'arguments refused: argument 1 contains a NUL byte'}]);
	}

	t.false(existsSync(marker));
	t.deepEqual(logEvents(fleet.running, 'run.start').filter(entry => JSON.stringify(entry.args).includes('\\u0000')), []);
});

test.serial('Object.prototype polluted in the agent process reaches no script: no shell, no EVIL in the environment', async t => {
	const fleet = ready();
	t.like(logEvents(fleet.pollutedRunning, 'test.polluted')[0], {keys: ['shell', 'env', 'argv0', 'EVIL', 'uid', 'gid', 'cwd'], shell: '/bin/sh'}, 'the pollution was in place before the agent started');

	const show = await cliRun('show', [], {on: 'polluted'});
	t.is(show.code, 0, show.result.stderr);
	t.false(show.result.stdout.includes('EVIL'));
	checkShow(t, show.result.stdout, show.document.requestId);

	const marker = join(temporaryDirectory(), 'pwned');
	const args = [`$(touch ${marker})`, 'a b', `; touch ${marker}`];
	const echo = await cliRun('echo', args, {on: 'polluted'});
	t.like(echo.result, {status: 'ok', stdout: args.map(argument => `[${argument}]\n`).join('')});
	t.false(existsSync(marker), 'no shell may have run');

	const identity = await cliRun('identity', [], {on: 'polluted'});
	t.like(identity.result, {status: 'ok', stdout: `${process.getuid!()}\n${process.getgid!()}\n/\n`}, 'the agent\'s own user and working directory, not the prototype\'s');
});

test.serial('a replayed request is refused: the same frame over a second connection gets "replayed"', async t => {
	const fleet = ready();
	const id = randomUUID();
	const msg = randomUUID();
	const line = requestLine({type: 'run', id, msg, script: 'echo', args: ['once'], caller: 'ops'});
	const first = await raw([line]);
	t.like(first.frames.at(-1), {type: 'result', id, status: 'ok'});

	const second = await raw([line]);
	t.deepEqual(second.frames, [{v: 1, type: 'error', id, code: 'replayed', message: `message ${msg} was already received`}]);
	t.is(logEvents(fleet.running, 'run.start').filter(entry => entry.requestId === id).length, 1, 'the script ran once');
});

for (const [title, skewMs] of [['ten minutes old', -10 * 60 * 1000], ['ten minutes in the future', 10 * 60 * 1000]] as const) {
	test.serial(`a request with a timestamp ${title} is refused as stale`, async t => {
		const id = randomUUID();
		const reply = await raw([requestLine({type: 'run', id, ts: Date.now() + skewMs, script: 'echo', args: ['late'], caller: 'ops'})]);
		t.is(reply.frames.length, 1, reply.context);
		t.like(reply.frames[0], {v: 1, type: 'error', id, code: 'stale'});
		t.regex(String(reply.frames[0]?.['message']), /^message timestamp is -?\d+ s away from the agent's clock \(window ±300 s\)$/);
		t.is(logEvents(ready().running, 'run.start').filter(entry => entry.requestId === id).length, 0);
	});
}

test.serial('a malformed frame gets a protocol error, and the agent keeps serving', async t => {
	const reply = await raw(['this is not json\n']);
	t.is(reply.frames.length, 1, reply.context);
	t.like(reply.frames[0], {v: 1, type: 'error', id: '-', code: 'malformed'});
	t.regex(String(reply.frames[0]?.['message']), /^not JSON/);
	await stillServes(t);
});

test.serial('a frame with a __proto__ key is refused (prototype poisoning)', async t => {
	const reply = await raw([`{"v":1,"type":"run","id":"poison-0001","msg":"poison-msg-0001","ts":${Date.now()},"script":"echo","args":[],"caller":"ops","__proto__":{"shell":"/bin/sh"}}\n`]);
	t.deepEqual(reply.frames, [{v: 1, type: 'error', id: '-', code: 'malformed', message: 'forbidden key "__proto__"'}], reply.context);
	await stillServes(t);
});

test.serial('nothing after a refused frame on the same connection is acted on', async t => {
	const fleet = ready();
	const marker = join(temporaryDirectory(), 'ran');
	const id = randomUUID();
	const reply = await raw([`not json\n${requestLine({type: 'run', id, script: 'touch', args: [marker], caller: 'ops'})}`]);
	t.is(reply.frames.length, 1, reply.context);
	t.like(reply.frames[0], {type: 'error', id: '-', code: 'malformed'});
	// Give a wrongly started run every chance to show itself before looking.
	await stillServes(t);
	t.false(existsSync(marker), 'the run after the refused frame must not start');
	t.deepEqual(logEvents(fleet.running, 'request.received').filter(entry => entry.requestId === id), []);
});

test.serial('a frame over the size limit gets one "too-large" error, and the agent keeps serving', async t => {
	const reply = await raw([Buffer.alloc(200_000, 'x')]);
	t.deepEqual(reply.frames, [{v: 1, type: 'error', id: '-', code: 'too-large', message: 'a frame may not exceed 65536 bytes'}], reply.context);
	await stillServes(t);
});

test.serial('a silent client is cut off after the idle timeout, and the agent keeps serving', async t => {
	const reply = await raw([], {giveUpMs: 40_000});
	t.false(reply.gaveUp, `the agent must close the connection itself: ${reply.context}`);
	t.deepEqual(reply.frames, [{v: 1, type: 'error', id: '-', code: 'timeout', message: `no complete request within ${idleTimeoutMs / 1000} s`}], reply.context);
	await stillServes(t);
});

test.serial('a slow client that trickles bytes but never a newline is cut off too, and the agent keeps serving', async t => {
	let trickle: NodeJS.Timeout | undefined;
	const reply = await raw(['{"v":1'], {
		giveUpMs: 40_000,
		onSecure(socket) {
			// One byte well within every idle period: only a deadline for the whole request stops it.
			trickle = setInterval(() => {
				if (socket.writable) {
					socket.write(' ');
				}
			}, idleTimeoutMs / 6);
			socket.once('close', () => {
				clearInterval(trickle);
			});
		},
	});
	clearInterval(trickle);
	t.false(reply.gaveUp, `the agent must close the connection itself: ${reply.context}`);
	t.deepEqual(reply.frames, [{v: 1, type: 'error', id: '-', code: 'timeout', message: `no complete request within ${idleTimeoutMs / 1000} s`}], reply.context);
	await stillServes(t);
});

test.serial('NODE_TLS_REJECT_UNAUTHORIZED=0 makes both executables refuse to start (exit 2)', async t => {
	const fleet = ready();
	const message = 'NODE_TLS_REJECT_UNAUTHORIZED=0 is set, which turns off TLS certificate checks; unset it and try again. (UNSAFE_ENVIRONMENT)\n';
	const controller = await runCli(controllerCli, ['run', 'echo', '--on', 'runner'], {XI_EXEC_HOME: fleet.controllerHome, NODE_TLS_REJECT_UNAUTHORIZED: '0'});
	t.is(controller.code, 2);
	t.is(controller.stdout, '');
	t.is(controller.stderr, `xi-exec: ${message}`);

	const agent = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: fleet.agent.home, NODE_TLS_REJECT_UNAUTHORIZED: '0'});
	t.is(agent.code, 2);
	t.is(agent.stdout, '');
	t.is(agent.stderr, `xi-exec-agent: ${message}`);
});
