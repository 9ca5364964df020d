/**
 * The executables `npm run build` leaves in dist/ are bundles (scripts/bundle.js) that still load
 * only what a command needs: what `xi-exec run` and `--version` import, recorded by a resolve hook
 * (fixtures/record-imports.mjs), is the bundle's own files and the few packages bundled out, never
 * the console, the REST API, MCP, NATS or the certificate library; and the compile cache (Node 22.1+)
 * goes to the user's cache directory, not to the shared temporary one. `run` and an idle agent load a
 * handful of files each (rolldown keeps shared code where an importer has it already).
 */
import {execFile} from 'node:child_process';
import {existsSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {controllerCli, createController, enrolAgent, fixtures, freePort, installScript, repoRoot, startAgent, temporaryDirectory} from '../helpers/fleet.js';

const run = promisify(execFile);
const heavy = /node_modules\/(ink|react|@alcalzone|ink-spinner|fastify|@fastify|@modelcontextprotocol|@nats-io|@peculiar|reflect-metadata|prom-client|ajv|execa|yaml)\//;

async function importsOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{urls: string[]; builtins: string[]; stdout: string; stderr: string}> {
	const record = join(temporaryDirectory(), 'imports');
	const finished = await run(process.execPath, ['--import', join(fixtures, 'record-imports.mjs'), controllerCli, ...args], {env: {...process.env, ...env, XI_TEST_IMPORTS: record}}).catch((error: {stdout: string; stderr: string}) => error);
	const urls = existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n') : [];
	return {urls: urls.filter(url => !url.startsWith('node:') && !url.includes('/test/fixtures/')), builtins: urls.filter(url => url.startsWith('node:')), stdout: finished.stdout, stderr: finished.stderr};
}

const files = (urls: readonly string[]) => urls.map(url => url.replace(`file://${repoRoot}`, ''));

test('`xi-exec --version` runs the bundle and loads no package', async t => {
	const {urls, stdout} = await importsOf(['--version']);
	t.regex(stdout, /^\d+\.\d+\.\d+\n$/);
	t.deepEqual(files(urls).filter(file => !/^dist\/source\/(cli\.c?js|chunks\/[\w-]+\.js)$/.test(file)), []);
});

test('`xi-exec run` loads its chunks and a few small packages: nothing of the console, the API, MCP, NATS or x509', async t => {
	const home = await createController();
	const {urls, stderr} = await importsOf(['run', 'uptime', '--on', 'nobody', '--home', home]);
	// No agent matches: the run is refused after its command, the registry and the audit log are loaded.
	t.regex(stderr, /NO_TARGETS/);
	const loaded = files(urls);
	t.true(loaded.some(file => file.startsWith('dist/source/chunks/run-')), loaded.join('\n'));
	t.deepEqual(loaded.filter(file => heavy.test(file)), []);
	// tsc's modules are not what runs: only the bundle's files, and packages.
	t.deepEqual(loaded.filter(file => file.startsWith('dist/') && !/^dist\/source\/(cli\.c?js|chunks\/)/.test(file)), []);
	// A handful of files, not one per combination of importers (esbuild cut the same code into 54).
	t.true(new Set(loaded.filter(file => file.startsWith('dist/'))).size <= 6, loaded.join('\n'));
});

test('a one-shot run on a controller without approvals or syslog loads neither\'s code, nor the builtins only they or a question need', async t => {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort(), scripts: {hello: installScript('hello', '#!/bin/sh\necho "hello $*"\n')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const {urls, builtins, stdout, stderr} = await importsOf(['run', 'hello', '--on', 'web1', '--home', home, '--', 'there']);
	t.regex(stdout, /hello there/, stderr);
	t.deepEqual(files(urls).filter(file => /chunks\/(gated-run|approvals|approval-text|syslog-channel)-/.test(file)), []);
	t.deepEqual(builtins.filter(name => /^node:(dgram|readline|perf_hooks|fs\/promises|timers\/promises)/.test(name)), []);
	// Required builtins are recorded too (the chunks require theirs): the list above is not empty by construction.
	t.true(builtins.includes('node:tls') && builtins.includes('node:crypto'), builtins.join(' '));
});

test('the controller\'s chunks require their builtins: no ES module import of one but node:module (each would cost a facade)', t => {
	const directory = join(repoRoot, 'dist/source/chunks');
	const imports = readdirSync(directory).filter(file => file.endsWith('.js')).flatMap(file => [...readFileSync(join(directory, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*?from "(node:[^"]+)"/gm)].map(match => `${file}: ${match[1]!}`));
	t.deepEqual(imports.filter(line => !line.endsWith(': node:module')), []);
	t.true(imports.length > 0);
});

test('an idle `xi-exec-agent start` loads a handful of the bundle\'s files', async t => {
	const agent = await enrolAgent(await createController(), {name: 'web1', port: freePort()});
	const record = join(temporaryDirectory(), 'imports');
	const running = await startAgent(agent, {nodeArgs: ['--import', join(fixtures, 'record-imports.mjs')], env: {XI_TEST_IMPORTS: record}});
	await running.stop();
	const loaded = files(readFileSync(record, 'utf8').trim().split('\n')).filter(file => file.startsWith('dist/'));
	t.true(loaded.includes('dist/agent/cli.js'), loaded.join('\n'));
	// esbuild's chunks made it 27 files; each costs a resolution, and the resolver's hot code RSS.
	t.true(new Set(loaded).size <= 12, loaded.join('\n'));
	t.deepEqual(loaded.filter(file => !/^dist\/agent\/(cli\.js|chunks\/)/.test(file)), []);
});

/** A node with a compile cache: this one, else the release's pinned Node when `npm run dist` installed it. */
async function nodeWithCompileCache(): Promise<string | undefined> {
	if ('enableCompileCache' in await import('node:module')) {
		return process.execPath;
	}

	const pinned = join(repoRoot, 'packaging/runtimes/node_modules', `node-linux-${process.arch}`, 'bin/node');
	return existsSync(pinned) ? pinned : undefined;
}

test('the compile cache, where node has one, is in $XDG_CACHE_HOME/xi-exec, not in the shared temporary directory', async t => {
	const node = await nodeWithCompileCache();
	if (!node) {
		t.log(`skipped: node ${process.version} has no compile cache (Node 22.1 and later), and the release's pinned Node is not installed (npm run dist)`);
		t.pass();
		return;
	}

	const cache = temporaryDirectory();
	const temporary = temporaryDirectory();
	const env: NodeJS.ProcessEnv = {...process.env, XDG_CACHE_HOME: cache, TMPDIR: temporary};
	delete env['NODE_COMPILE_CACHE'];
	await run(node, [controllerCli, '--version'], {env});
	t.true(readdirSync(join(cache, 'xi-exec', 'compile-cache')).length > 0);
	t.deepEqual(readdirSync(temporary), []);
});
