/**
 * When the agent lists the descriptors it inherited (agent/at-exec.ts) against when node:tls loads
 * (on Node 24, loading it starts a thread that opens NODE_EXTRA_CA_CERTS without close-on-exec:
 * inherited-descriptors.ts). A preload wraps readdirSync (synced into the ES module bindings) and
 * notes which of node's networking builtins were loaded when `/proc/self/fd` was first listed:
 *
 * - the agent's entry (dist/agent/cli.js) lists first, before node:tls;
 * - an embedding that loads at-exec.js in an evaluation of its own (`--import`) before it imports
 *   agent/start.js lists first too;
 * - an embedding that imports agent/start.js statically lists only after node:tls loaded, whatever
 *   the order of start.js's own imports: node loads a static graph's builtins when it links it,
 *   before any module body runs. This row is why start.ts does not import at-exec.ts first
 *   (at-exec.ts says so); if node ever changes it, this row fails and that can be revisited.
 */
import {execFile} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';

const directory = temporaryDirectory('xi-exec-at-exec-order-');
const preload = join(directory, 'preload.mjs');
writeFileSync(preload, `import fs from 'node:fs';
import {syncBuiltinESMExports} from 'node:module';
const list = fs.readdirSync;
let first;
fs.readdirSync = function (path, ...rest) {
	first ??= path === '/proc/self/fd' ? process.moduleLoadList.filter(name => /^NativeModule (tls|_tls_wrap)$/.test(name)) : undefined;
	return list.call(this, path, ...rest);
};
syncBuiltinESMExports();
process.on('exit', () => process.stderr.write('\\nlisted-with:' + JSON.stringify(first ?? 'never') + '\\n'));
`);
const embedding = join(directory, 'embedding.mjs');
writeFileSync(embedding, `import {stdoutLog} from ${JSON.stringify(join(repoRoot, 'dist/agent/start.js'))};\nvoid stdoutLog;\n`);
const atExec = join(repoRoot, 'dist/agent/at-exec.js');

async function loadedWhenListed(args: string[]): Promise<unknown> {
	const {stderr} = await promisify(execFile)(process.execPath, ['--import', preload, ...args], {env: {PATH: process.env['PATH'] ?? ''}}).catch((error: {stderr: string}) => error);
	const line = stderr.split('\n').find(candidate => candidate.startsWith('listed-with:'));
	return JSON.parse(line?.slice('listed-with:'.length) ?? '"no line"');
}

test('the agent\'s entry lists its inherited descriptors before node:tls loads', async t => {
	t.deepEqual(await loadedWhenListed([join(repoRoot, 'dist/agent/cli.js'), 'version']), []);
});

test('an embedding that loads at-exec.js first, in an evaluation of its own, lists before node:tls loads', async t => {
	t.deepEqual(await loadedWhenListed(['--import', atExec, embedding]), []);
});

test('an embedding that imports agent/start.js statically lists only after node:tls loaded (node links builtins first)', async t => {
	t.deepEqual(await loadedWhenListed([embedding]), ['NativeModule _tls_wrap', 'NativeModule tls']);
});
