/**
 * A dispatch thread loads only what a direct-TLS thread needs: relay hosts stay on the main
 * thread, so nothing of the relay (the NATS client, tweetnacl, the relay's envelopes and links)
 * is in its module graph (source/dispatch/link-exchange.ts), in the release's thread program
 * (scripts/release/bundle.ts) or among the files the npm build's thread loads (scripts/bundle.js
 * puts its modules in a chunk of their own, not in the run's). Before: 246 KB in the release,
 * the run chunk and more (291 KB) in the npm build.
 */
import {readFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import test from 'ava';
import {build} from 'esbuild';
import {bundleProgram, programs} from '../../scripts/release/bundle.js';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';

const relay = /node_modules\/(@nats-io|tweetnacl)\/|source\/dispatch\/relay-|source\/relay\/|source\/protocol\/relay-/;

test('the dispatch thread\'s module graph holds nothing of the relay', async t => {
	const result = await build({entryPoints: [join(repoRoot, 'source/dispatch/thread-worker.ts')], absWorkingDir: repoRoot, bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', outdir: 'out'});
	const inputs = Object.keys(result.metafile.inputs);
	t.true(inputs.includes('source/dispatch/tls-link.ts'), 'the graph was read');
	t.deepEqual(inputs.filter(file => relay.test(file)), []);
});

test('the release\'s thread program (the single executable\'s asset) is direct TLS alone: under 64 KB', async t => {
	const directory = temporaryDirectory('xi-exec-thread-program-');
	const threadFile = join(directory, 'dispatch-thread.cjs');
	await bundleProgram(programs.find(program => program.name === 'xi-exec')!, join(directory, 'xi-exec.cjs'), {threadFile});
	const code = readFileSync(threadFile, 'utf8');
	t.true(code.includes('parentPort'), 'it is the thread\'s program');
	t.true(Buffer.byteLength(code) < 64 * 1024, `${Buffer.byteLength(code)} bytes`);
	// The NATS client and tweetnacl, as they name themselves in their code.
	t.false(/nats-io|NatsError|nacl\.sign/.test(code));
});

/** The files an ES module loads before its first line runs: it and what it imports statically, by relative paths (the build's chunks). */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
	if (!seen.has(file)) {
		seen.add(file);
		for (const [, relative] of readFileSync(file, 'utf8').matchAll(/^import [^;]*? from "(\.[^"]+)";$/gm)) {
			staticClosure(resolve(dirname(file), relative!), seen);
		}
	}

	return seen;
}

test('the npm build\'s dispatch thread loads its own chunk, not the run\'s nor anything of the relay (npm run build)', t => {
	const loaded = [...staticClosure(join(repoRoot, 'dist/source/chunks/thread-worker.js'))];
	const modules = loaded.flatMap(file => [...readFileSync(file, 'utf8').matchAll(/^\/\/ (source\/\S+\.ts)$/gm)].map(match => match[1]!));
	t.true(modules.includes('source/dispatch/tls-link.ts'), loaded.join(', '));
	t.deepEqual(modules.filter(module => relay.test(module) || /^source\/(core|history|commands|audit|registry)\//.test(module)), []);
	t.true(loaded.length <= 3, `the thread's files: ${loaded.join(', ')}`);
});
