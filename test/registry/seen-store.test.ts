/**
 * lastSeen through the real registry store (registry/store.ts): a run's markSeen appends a line
 * beside the registry and leaves registry.json as it was; reading shows it; any change of the
 * registry writes it into registry.json; a journal grown large is folded in and moved aside, and a
 * line that reaches the moved-aside copy late is still read. Two processes marking agents seen at
 * once, while the journal is folded and moved several times, lose no line.
 */
import {appendFileSync, existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {addAgent, type AgentRecord} from '../../source/registry/model.js';
import {seenLine} from '../../source/registry/seen.js';
import {createRegistryFile, openRegistryStore, seenJournalPaths} from '../../source/registry/store.js';
import {startFixture, temporaryDirectory, waitFor} from '../helpers/fleet.js';

const pairedAt = '2026-01-01T00:00:00.000Z';
const record = (name: string): AgentRecord => ({name, address: '127.0.0.1:7441', tags: {}, serial: '1a', fingerprint: 'ab'.repeat(32), certificateExpires: '2030-01-01T00:00:00.000Z', pairedAt});
const at = (second: number) => new Date(Date.parse('2026-02-01T00:00:00.000Z') + (second * 1000)).toISOString();

async function registryWith(names: string[]) {
	const path = join(temporaryDirectory(), 'registry.json');
	await createRegistryFile(path);
	const store = openRegistryStore(path);
	await store.update(registry => names.reduce((next, name) => addAgent(next, record(name)), registry));
	return {path, store, journal: seenJournalPaths(path)};
}

const onDisk = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as {agents: AgentRecord[]};
const seenOf = (agents: readonly AgentRecord[]) => Object.fromEntries(agents.map(agent => [agent.name, agent.lastSeen]));

test('markSeen appends one line beside the registry, leaves registry.json as it was, and read shows it', async t => {
	const {path, store, journal} = await registryWith(['web1', 'web2']);
	const before = readFileSync(path, 'utf8');
	await store.markSeen(['web1'], at(1));
	await store.markSeen([], at(2));
	t.is(readFileSync(path, 'utf8'), before, 'registry.json untouched');
	t.is(readFileSync(journal.current, 'utf8'), seenLine(['web1'], at(1)), 'one line; nothing for no agents');
	t.deepEqual(seenOf((await store.read()).agents), {web1: at(1), web2: undefined});
	t.deepEqual(seenOf((await openRegistryStore(path).read()).agents), {web1: at(1), web2: undefined}, 'another process reads it too');
});

test('any change of the registry writes the journal\'s lastSeen into registry.json', async t => {
	const {path, store} = await registryWith(['web1', 'web2']);
	await store.markSeen(['web1', 'web2'], at(5));
	await store.markSeen(['web2'], at(3));
	await store.update(registry => addAgent(registry, record('web3')));
	t.deepEqual(seenOf(onDisk(path).agents), {web1: at(5), web2: at(5), web3: undefined}, 'the later time of each, in the file');
});

test('a journal grown past 64 KiB is folded into registry.json and moved aside; a line reaching the moved copy late is still read', async t => {
	const {path, store, journal} = await registryWith(['web1', 'web2']);
	const fillers = Array.from({length: 60}, (_, index) => `not-registered-${index}`);
	let second = 0;
	while (!existsSync(journal.folded)) {
		second++;
		await store.markSeen(['web1', ...fillers], at(second));
		t.true(second < 200, 'moved aside by 64 KiB');
	}

	t.false(existsSync(journal.current), 'a new journal starts with the next line');
	t.is(seenOf(onDisk(path).agents)['web1'], at(second), 'folded into registry.json before it moved');
	// A process that opened the journal just before it moved writes into the moved copy.
	appendFileSync(journal.folded, seenLine(['web2'], at(second + 1)));
	t.deepEqual(seenOf((await store.read()).agents), {web1: at(second), web2: at(second + 1)});
	await store.update(registry => registry);
	t.is(seenOf(onDisk(path).agents)['web2'], at(second + 1), 'and folded by the next change');
});

function startWriter(path: string, prefix: string, count: number, base: number) {
	return startFixture('seen-writer.ts', [path, prefix, String(count), String(base)]);
}

test('two processes marking agents seen at once, while the journal is folded and moved, lose no line', async t => {
	const count = 150;
	const names = ['left', 'right'].flatMap(prefix => Array.from({length: count}, (_, index) => `${prefix}-${index + 1}`));
	const {path, journal} = await registryWith(names);
	const base = Date.parse('2026-02-01T00:00:00.000Z');
	const writers = [startWriter(path, 'left', count, base), startWriter(path, 'right', count, base)];
	t.teardown(() => {
		for (const writer of writers) {
			writer.child.kill('SIGKILL');
		}
	});
	await waitFor(() => (writers.every(writer => writer.stdout().startsWith('ready\n')) ? true : undefined), 'both writers to load', {state: () => writers.map(writer => writer.stderr())});
	for (const writer of writers) {
		writer.child.stdin.write('go\n');
	}

	t.deepEqual(await Promise.all(writers.map(async writer => writer.exited)), [0, 0], writers.map(writer => writer.stderr()).join('\n'));
	t.true(existsSync(journal.folded), 'the journal was moved aside meanwhile');
	const expected = Object.fromEntries(names.map(name => [name, new Date(base + (Number(name.split('-')[1]) * 1000)).toISOString()]));
	t.deepEqual(seenOf((await openRegistryStore(path).read()).agents), expected);
});
