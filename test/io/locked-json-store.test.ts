/**
 * A store's read of an unchanged file hands back what it parsed last time (io/locked-json-store.ts),
 * and reads the file again whenever it changed, however it changed: through this store, through
 * another store on the same file (another process), replaced by a write of the same size, or
 * rewritten in place without changing its size, even within the same second. Counted through the
 * store's own parse port.
 */
import {readFileSync, renameSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {openLockedJsonStore} from '../../source/io/locked-json-store.js';
import {temporaryDirectory} from '../helpers/fleet.js';

type Counter = {version: 1; count: number; name: string};

function countedStore(path: string) {
	const parses = {count: 0};
	const store = openLockedJsonStore<Counter>(path, {
		what: 'counter',
		empty: () => ({version: 1, count: 0, name: 'aaaa'}),
		parse(value) {
			parses.count++;
			return (value as Counter).version === 1 ? value as Counter : 'expected version 1';
		},
	});
	return {store, parses};
}

async function fresh() {
	const path = join(temporaryDirectory(), 'counter.json');
	const {store, parses} = countedStore(path);
	await store.update(value => ({...value, count: 1}));
	parses.count = 0;
	return {path, store, parses};
}

test('an unchanged file is parsed once, however often it is read', async t => {
	const {store, parses} = await fresh();
	const first = await store.read();
	const second = await store.read();
	t.is(parses.count, 1);
	t.is(second, first);
	t.is(second.count, 1);
});

const changes: Array<{name: string; change: (path: string, store: ReturnType<typeof countedStore>['store']) => Promise<void> | void; count: number}> = [
	{name: 'a change through the same store', change: async (_path, store) => void await store.update(value => ({...value, count: 2})), count: 2},
	{name: 'a change through another store (another process)', change: async path => void await countedStore(path).store.update(value => ({...value, count: 3})), count: 3},
	{
		name: 'a file replaced by one of the same size, with the same times',
		change(path) {
			const text = readFileSync(path, 'utf8');
			const {atime, mtime} = statSync(path);
			writeFileSync(`${path}.new`, text.replace('"count": 1', '"count": 4'));
			utimesSync(`${path}.new`, atime, mtime);
			renameSync(`${path}.new`, path);
		},
		count: 4,
	},
	{
		name: 'a file rewritten in place, same size, its modification time put back',
		change(path) {
			const text = readFileSync(path, 'utf8');
			writeFileSync(path, text.replace('"count": 1', '"count": 5'));
			utimesSync(path, new Date(0), new Date(0));
		},
		count: 5,
	},
];

for (const {name, change, count} of changes) {
	test(`read sees ${name}`, async t => {
		const {path, store} = await fresh();
		t.is((await store.read()).count, 1);
		await change(path, store);
		t.is((await store.read()).count, count);
	});
}

test('a file that went away and came back is read again', async t => {
	const {path, store, parses} = await fresh();
	await store.read();
	const text = readFileSync(path, 'utf8');
	renameSync(path, `${path}.away`);
	writeFileSync(path, text.replace('"count": 1', '"count": 6'));
	t.is((await store.read()).count, 6);
	t.is(parses.count, 2);
});

test('a file that is not there reads as empty, whatever was read before', async t => {
	const {path, store} = await fresh();
	t.is((await store.read()).count, 1);
	renameSync(path, `${path}.away`);
	t.deepEqual(await store.read(), {version: 1, count: 0, name: 'aaaa'});
});
