/**
 * Dispatch threads in the release (scripts/release/): the controller's single-file bundle and its
 * single executable carry the dispatch thread's program inside (source/dispatch/thread-program.ts)
 * and start their threads from it. Each build, with `dispatchThreads: 2`, against real agents over
 * TLS: both dispatch threads described and ran hosts (NODE_DEBUG=xi-exec-threads names the thread
 * of each), and the results, audit records and history are those of the same build on one thread.
 * The bundle runs on this Node and, when `npm run dist` has installed it, on the release's Node
 * (packaging/runtimes), with which the single executable is then built as `npm run dist` builds it
 * (the thread's program an asset of the executable, not a string in its bundle).
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {bundleProgram, programs, threadAsset} from '../../scripts/release/bundle.js';
import {pinnedRuntimes} from '../../scripts/release/runtimes.js';
import {buildExecutable} from '../../scripts/release/sea.js';
import {createController, enrolAgent, freePort, installScript, repoRoot, startAgent, temporaryDirectory} from '../helpers/fleet.js';
import {sameAsOneThread, threadedCliRun, type ControllerProgram} from './thread-cli-run.js';

const names = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
const stops: Array<() => Promise<void>> = [];

test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

const scratch = temporaryDirectory('xi-exec-release-threads-');
const bundle = join(scratch, 'xi-exec.cjs');
const runtime = pinnedRuntimes().find(each => each.arch === process.arch);
const runtimeBinary = runtime ? join(repoRoot, runtime.binary) : undefined;
const releaseNode = runtimeBinary && existsSync(runtimeBinary) ? runtimeBinary : undefined;
const missingRuntime = `the release's Node (${runtime?.binary ?? `none for ${process.arch}`}) is not installed: \`npm run dist\` or \`node --import=tsx test/deploy/prepare.ts\` installs it`;

let built: Promise<{home: string}> | undefined;
async function setUp(): Promise<{home: string}> {
	built ??= (async () => {
		await bundleProgram(programs.find(program => program.name === 'xi-exec')!, bundle);
		const home = await createController();
		const scripts = {quick: installScript('quick.sh', '#!/bin/sh\necho "from $XI_EXEC_SCRIPT"\necho "to stderr" >&2\nsleep 1\necho done\n')};
		const agents = [];
		for (const name of names) {
			agents.push(await enrolAgent(home, {name, port: freePort(), scripts}));
		}

		const running = await Promise.all(agents.map(async agent => startAgent(agent)));
		stops.push(...running.map(agent => agent.stop));
		return {home};
	})();
	return built;
}

async function sameOnTwoThreads(t: ExecutionContext, home: string, program: ControllerProgram): Promise<void> {
	const one = await threadedCliRun(home, 1, program);
	const two = await threadedCliRun(home, 2, program);
	sameAsOneThread(t, one, two, names);
}

test.serial('the release\'s single-file bundle on this Node runs hosts on two dispatch threads, with the results of one', async t => {
	const {home} = await setUp();
	await sameOnTwoThreads(t, home, {command: process.execPath, prefix: [bundle]});
});

const withReleaseNode = releaseNode ? test.serial : test.serial.skip;
if (!releaseNode) {
	test(`the release's Node: skipped (${missingRuntime})`, t => {
		t.pass();
	});
}

withReleaseNode('the same bundle on the release\'s Node', async t => {
	const {home} = await setUp();
	await sameOnTwoThreads(t, home, {command: releaseNode!, prefix: [bundle]});
});

withReleaseNode('the single executable, built as `npm run dist` builds it (no script file: the thread starts from the program it carries as an asset)', async t => {
	const {home} = await setUp();
	const executable = join(scratch, 'xi-exec-linux');
	const embedded = join(scratch, 'xi-exec-sea.cjs');
	const threadFile = join(scratch, threadAsset);
	await bundleProgram(programs.find(program => program.name === 'xi-exec')!, embedded, {threadFile});
	t.false(readFileSync(embedded, 'utf8').includes(readFileSync(threadFile, 'utf8')), 'the executable\'s bundle does not carry the thread\'s program as a string');
	await buildExecutable({bundle: embedded, target: runtime!, host: runtime!, output: executable, scratch: join(scratch, 'sea'), assets: {[threadAsset]: threadFile}});
	t.true(statSync(executable).size > 50 * 1024 * 1024);
	await sameOnTwoThreads(t, home, {command: executable, prefix: []});
});
