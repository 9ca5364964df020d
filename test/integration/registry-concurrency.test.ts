/**
 * Two separate processes change the same registry at once, each through the real store
 * (`openRegistryStore(...).update`, a cross-process lock around every read-modify-write):
 * nothing either of them wrote is lost.
 */
import {join} from 'node:path';
import test from 'ava';
import {createRegistryFile, openRegistryStore} from '../../source/registry/store.js';
import {startFixture, temporaryDirectory, waitFor} from '../helpers/fleet.js';

const perWriter = 30;

function startWriter(path: string, prefix: string) {
	return startFixture('registry-writer.ts', [path, prefix, String(perWriter)]);
}

test('two processes adding 30 agents each to the same registry at once lose nothing', async t => {
	const path = join(temporaryDirectory(), 'registry.json');
	await createRegistryFile(path);
	const writers = [startWriter(path, 'left'), startWriter(path, 'right')];
	t.teardown(() => {
		for (const writer of writers) {
			writer.child.kill('SIGKILL');
		}
	});

	// Both loaded, then both told to go at once.
	await waitFor(() => (writers.every(writer => writer.stdout().startsWith('ready\n')) ? true : undefined), 'both writers to load', {state: () => writers.map(writer => writer.stderr())});
	for (const writer of writers) {
		writer.child.stdin.write('go\n');
	}

	const codes = await Promise.all(writers.map(async writer => writer.exited));
	t.deepEqual(codes, [0, 0], writers.map(writer => writer.stderr()).join('\n'));

	const spans = writers.map(writer => JSON.parse(writer.stdout().split('\n')[1] ?? '{}') as {firstAt: number; lastAt: number});
	t.log(`the writers' spans overlapped: ${spans[0]!.firstAt <= spans[1]!.lastAt && spans[1]!.firstAt <= spans[0]!.lastAt}`);

	const registry = await openRegistryStore(path).read();
	const expected = ['left', 'right'].flatMap(prefix => Array.from({length: perWriter}, (_, index) => `${prefix}-${index + 1}`));
	t.is(registry.agents.length, 2 * perWriter);
	t.deepEqual(registry.agents.map(agent => agent.name).sort(), expected.sort());
	for (const agent of registry.agents) {
		t.is(agent.tags['writer'], agent.name.split('-')[0]);
	}
});
