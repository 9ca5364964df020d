/**
 * The presence state file with several writers at once: two processes (two serves' worth), each
 * flushing its own heartbeats and watches into one `registry.presence.json` as fast as it can,
 * through the registry store's locked update. Nothing either wrote may be lost: the file replaced
 * whole by each writer (as before) loses most of the other's entries.
 */
import {spawn} from 'node:child_process';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import test from 'ava';
import {parsePresenceState} from '../../source/registry/presence-state.js';
import {openRegistryStore, presenceStatePath} from '../../source/registry/store.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const flushes = 60;
const dist = (path: string) => pathToFileURL(join(import.meta.dirname, '../../dist/source', path)).href;

/** One writer process: `flushes` flushes, each counting one new heartbeat and renewing its watch. */
const writer = `
const {openRegistryStore} = await import(${JSON.stringify(dist('registry/store.js'))});
const {notePresence} = await import(${JSON.stringify(dist('registry/presence-state.js'))});
const [path, name] = process.argv.slice(1);
const store = openRegistryStore(path);
for (let index = 0; index < ${flushes}; index++) {
	const now = Date.now();
	await store.updatePresence(state => notePresence(state, {writer: name, counted: new Map([[name + '-' + index, {at: now, broker: 'nats://' + name}]]), watched: ['nats://' + name], now}));
}
`;

async function runWriter(path: string, name: string): Promise<number | null> {
	const child = spawn(process.execPath, ['--input-type=module', '-e', writer, path, name], {stdio: ['ignore', 'inherit', 'inherit']});
	return new Promise(resolve => {
		child.on('close', resolve);
	});
}

test('two serves flushing into one presence file at once lose nothing the other wrote', async t => {
	const path = join(temporaryDirectory(), 'registry.json');
	t.deepEqual(await Promise.all([runWriter(path, 'serve-a'), runWriter(path, 'serve-b')]), [0, 0]);
	const state = openRegistryStore(path).presence!();
	const expected = ['serve-a', 'serve-b'].flatMap(name => Array.from({length: flushes}, (_, index) => `${name}-${index}`)).sort();
	t.deepEqual(Object.keys(state.agents).sort(), expected);
	t.deepEqual(Object.keys(state.watchers).sort(), ['serve-a', 'serve-b']);
	t.deepEqual(Object.keys(state.brokers).sort(), ['nats://serve-a', 'nats://serve-b']);
	t.deepEqual(parsePresenceState(undefined).agents, {}, 'sanity: an absent file is nothing known');
	t.regex(presenceStatePath(path), /registry\.presence\.json$/);
});
