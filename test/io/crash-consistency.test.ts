/**
 * Crash consistency: a child process writing the registry and appending audit records through the
 * real stores is killed with SIGKILL at a seeded random moment, 100 times over the same files;
 * after every kill the registry parses and `audit verify`'s own check (verifyLogSet over the log's
 * files, signatures included) passes. Each child is given 0–60 ms of writing after it is ready.
 * The writer is bundled once with esbuild, so a child starts in ~0.1 s instead of tsx's ~1 s and
 * the 100 kills take about a minute on a loaded 2-core host. A dead child's lock directories are what
 * proper-lockfile would break as stale after 10 s: the test breaks them at once (the owner is dead).
 */
import {spawn} from 'node:child_process';
import {createPublicKey} from 'node:crypto';
import {readdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {build} from 'esbuild';
import {verifierFromPems} from '../../source/audit/checkpoint.js';
import {verifyLogSet} from '../../source/audit/verify-set.js';
import {readAuditSet} from '../../source/audit/read-log.js';
import {openRegistryStore} from '../../source/registry/store.js';
import {generateKeyPair, privateKeyToPem} from '../../source/pki/keys.js';
import {temporaryDirectory} from '../audit/helpers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const iterations = 100;

/** mulberry32: a small seeded generator, so a failing sequence of kill times can be replayed. */
function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6D_2B_79_F5) >>> 0;
		let value = state;
		value = Math.imul(value ^ (value >>> 15), value | 1);
		value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
		return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
	};
}

/** Starts the writer, waits for its first round on disk, lets it write `ms` more, and SIGKILLs it. */
async function killAfter(writer: string, directory: string, ms: number): Promise<{signal: string | null; stderr: string}> {
	const child = spawn(process.execPath, [writer, directory], {stdio: ['ignore', 'pipe', 'pipe']});
	let stderr = '';
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString('utf8');
	});
	const exited = new Promise<{signal: string | null; stderr: string}>(resolve => {
		child.once('exit', (_code, signal) => {
			resolve({signal, stderr});
		});
	});
	await new Promise<void>(resolve => {
		child.stdout.on('data', () => {
			resolve();
		});
		child.once('exit', () => {
			resolve();
		});
	});
	setTimeout(() => child.kill('SIGKILL'), ms);
	return exited;
}

test('SIGKILL at 100 seeded random moments: the registry always parses and the audit log always verifies', async t => {
	t.timeout(600_000);
	const directory = temporaryDirectory(t);
	const pair = await generateKeyPair();
	const privatePem = await privateKeyToPem(pair.privateKey);
	writeFileSync(join(directory, 'audit.key'), privatePem, {mode: 0o600});
	const writer = join(directory, 'crash-writer.mjs');
	await build({
		entryPoints: [join(repoRoot, 'test', 'fixtures', 'crash-writer.ts')],
		bundle: true,
		platform: 'node',
		format: 'esm',
		outfile: writer,
		logLevel: 'warning',
		// Bundled CommonJS dependencies (proper-lockfile) call require().
		banner: {js: 'import {createRequire} from \'node:module\'; const require = createRequire(import.meta.url);'},
	});
	const verifier = verifierFromPems({'crash-key': createPublicKey(privatePem).export({type: 'spki', format: 'pem'}).toString()});
	const seed = Number(process.env['XI_CRASH_SEED'] ?? 18);
	const random = seeded(seed);
	const registry = openRegistryStore(join(directory, 'registry.json'));
	let records = 0;
	for (let iteration = 0; iteration < iterations; iteration++) {
		const ms = Math.floor(random() * 60);
		const {signal, stderr} = await killAfter(writer, directory, ms);
		const where = `seed ${seed}, iteration ${iteration}, killed ${ms} ms after ready`;
		if (signal !== 'SIGKILL') {
			t.fail(`${where}: the writer exited by itself (${stderr})`);
			return;
		}

		const parsed = await registry.read().then(() => 'parses', (error: unknown) => (error as Error).message);
		const verdict = verifyLogSet(readAuditSet(join(directory, 'audit.jsonl')), {verifier});
		if (parsed !== 'parses' || !verdict.ok) {
			t.fail(`${where}: registry ${parsed}; audit ${JSON.stringify(verdict)}`);
			return;
		}

		records = verdict.records;
		for (const name of readdirSync(directory).filter(entry => entry.endsWith('.lock'))) {
			rmSync(join(directory, name), {recursive: true, force: true});
		}
	}

	t.log(`seed ${seed}: ${iterations} kills, ${records} audit records, ${readdirSync(directory).filter(name => name.startsWith('audit.jsonl.')).length} rotated files`);
	t.true(records > iterations);
});
