/**
 * What one read of a large registry holds (registry/store.ts over io/locked-json-store.ts), in a
 * process of its own as a run reads it: no Buffer of the file (fs.readFile's callback form made one
 * the file's size, alive beside its text and the parsed records until the event loop turned: at
 * 10,000 agents +10.6 MiB on the read's peak), and afterwards the parsed records only, and only
 * while the caller holds them (the store's own hold is weak). The records read are exactly the file's.
 */
import {execFile} from 'node:child_process';
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import test from 'ava';
import type {AgentRecord} from '../../source/registry/model.js';
import {openRegistryStore} from '../../source/registry/store.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const probe = fileURLToPath(new URL('../fixtures/registry-read-memory.ts', import.meta.url));

/** A certificate-sized PEM (a P-256 agent certificate's is ~700 characters), different for each agent. */
const pem = (index: number) => `-----BEGIN CERTIFICATE-----\n${Array.from({length: 11}, (_, line) => `${index}`.padStart(8, '0').repeat(8).slice(0, line === 10 ? 52 : 64)).join('\n')}\n-----END CERTIFICATE-----`;
const record = (index: number): AgentRecord => ({name: `a${index}`, address: `127.0.0.1:${10_000 + index}`, tags: {bench: 'yes'}, serial: index.toString(16), fingerprint: 'ab'.repeat(32), certificateExpires: '2030-01-01T00:00:00.000Z', certificate: pem(index), pairedAt: '2026-01-01T00:00:00.000Z'});

test('a read of a 3,000-agent registry makes no Buffer of the file, keeps only its records, exactly the file\'s, and the store lets them go once its caller does', async t => {
	const path = join(temporaryDirectory(), 'registry.json');
	writeFileSync(path, JSON.stringify({version: 1, agents: Array.from({length: 3000}, (_, index) => record(index))}, null, '\t') + '\n');
	const bytes = statSync(path).size;
	t.true(bytes > 3_000_000, `${bytes} bytes`);
	const {stdout} = await promisify(execFile)(process.execPath, ['--expose-gc', '--import=tsx', probe, path], {encoding: 'utf8'});
	const held = JSON.parse(stdout) as {buffersAtRead: number; heap: number; released: number; agents: number};
	t.is(held.agents, 3000);
	t.true(held.buffersAtRead < bytes / 10, `array buffers made by the read: ${held.buffersAtRead} bytes for a ${bytes}-byte file`);
	// The records' own strings are about the file's bytes; its text as well would be twice that.
	t.true(held.heap < bytes * 1.5, `heap held: ${held.heap} bytes for a ${bytes}-byte file`);
	t.deepEqual(await openRegistryStore(path).read(), JSON.parse(readFileSync(path, 'utf8')) as unknown);
	// The store keeps what it parsed only while a caller does (a run keeps only what it needs of it: core/run-execute.ts).
	t.true(held.released < bytes / 10, `heap still held once the caller let go, the store open: ${held.released} bytes for a ${bytes}-byte file`);
});
