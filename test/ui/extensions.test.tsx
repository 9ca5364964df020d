import test from 'ava';
import {Text} from 'ink';
import type {ConsoleExtension} from '../../source/ui/extensions.js';
import {useKeys} from '../../source/ui/keys.js';
import {FakeCore, pendingRequest} from './helpers/fake-core.js';
import {keys, press, renderApp, until, waitForFrame} from './helpers/frames.js';

/** A screen as another part of the product would add one: a badge, a key on the fleet, its own keys. */
const fake: ConsoleExtension = {
	name: 'fake',
	title: 'the fake screen',
	key: 'Z',
	fleetRow: ['Z', 'the fake screen'],
	keys: [['x', 'do the fake thing', 'x fake'], ['Esc', 'back']],
	available: () => true,
	Badge: () => <Text>{' 2 fakes wait (Z) '}</Text>,
	Screen({onBack, onHelp, isActive}) {
		useKeys((input, key) => {
			if (key.escape) {
				onBack();
			} else if (input === '?') {
				onHelp();
			}
		}, isActive);
		return <Text>The fake screen</Text>;
	},
};

test('extensions: a screen added to the console has its badge on every screen, its key on the fleet, its footer and help', async t => {
	const console = await renderApp(new FakeCore(), {columns: 80, rows: 24}, [fake, {...fake, name: 'hidden', key: 'Y', available: () => false}]);
	t.teardown(console.unmount);
	const fleet = await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.regex(fleet.split('\n')[0]!, /^xi-exec +2 fakes wait \(Z\) fleet$/);
	const screen = await press(console, 'Z', 'The fake screen');
	t.regex(screen.split('\n')[0]!, /2 fakes wait \(Z\) fake$/);
	t.is(screen.split('\n').at(-1), 'x fake · Esc back');
	t.regex(await press(console, '?', 'Keys on the fake screen'), /x {20}do the fake thing/);
	await press(console, 'j', 'The fake screen');
	await press(console, keys.escape, 'Filter (/)');
	t.regex(await press(console, '?', 'Keys on the fleet'), /\nZ {20}the fake screen\n/);
	await press(console, 'j', 'Filter (/)');
	// Not available on this core: no key.
	t.false((await press(console, 'Y', 'Filter (/)')).includes('The fake screen'), 'Y opens nothing');
	await press(console, 'r', 'pick one');
	t.regex(console.lastFrame()!.split('\n')[0]!, /2 fakes wait \(Z\)/, 'the badge is on the run screen too');
});

test('pairing in the background: l leaves the listener open, every screen says how many requests wait, p comes back to them, Esc closes it', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'p', 'Listening on');
	const fleet = await press(console, 'l', 'Filter (/)');
	t.regex(fleet.split('\n')[0]!, /^xi-exec +pairing: listening \(p\) {2}fleet$/);
	t.false(core.pairing!.closed, 'the listener stays open');

	core.pairing!.emit(pendingRequest('web4', 0, {env: 'staging', role: 'web'}));
	t.regex((await waitForFrame(console, '1 request waits')).split('\n')[0]!, /pairing: listening · 1 request waits \(p\) {2}fleet$/);
	await press(console, 'r', 'pick one');
	core.pairing!.emit(pendingRequest('db3', 1, {env: 'staging', role: 'db'}));
	t.regex((await waitForFrame(console, '2 requests wait')).split('\n')[0]!, /pairing: listening · 2 requests wait \(p\) {2}run$/);
	await press(console, keys.escape, 'Filter (/)');
	const pairing = await press(console, 'p', '2 pending requests');
	t.false(pairing.includes('pairing: listening'), 'no notice on the pairing screen itself');
	const closed = await press(console, keys.escape, 'Filter (/)');
	t.false(closed.includes('pairing: listening'));
	await until(() => core.pairing!.closed);
	t.true(core.pairing!.closed, 'Esc on the pairing screen closes the listener');
});
