import test from 'ava';
import type {Key} from 'ink';
import {splitKeys} from '../../source/ui/key-stream.js';
import {FakeCore, pendingRequest} from './helpers/fake-core.js';
import {keys, press, renderApp, until, waitForFrame} from './helpers/frames.js';

const none: Key = {
	upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
	return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
	super: false, hyper: false, capsLock: false, numLock: false,
};

/** A key as a list of its set flags, for readable expectations. */
const flags = (key: Key) => Object.entries(key).filter(([, value]) => value === true).map(([name]) => name).join('+');

const cases: Array<[string, string, Partial<Key>, Array<[string, string]>]> = [
	['one letter', 'j', {}, [['j', '']]],
	['a burst of letters', 'jjj', {}, [['j', ''], ['j', ''], ['j', '']]],
	['text, Enter, a letter', 'ab\rr', {}, [['a', ''], ['b', ''], ['', 'return'], ['r', '']]],
	['a pasted code with a line feed', '482913\n', {}, [['4', ''], ['8', ''], ['2', ''], ['9', ''], ['1', ''], ['3', ''], ['', 'return']]],
	['an upper-case letter in a burst', 'aB', {}, [['a', ''], ['B', 'shift']]],
	['DEL and BS in a burst', 'a\u007F\b', {}, [['a', ''], ['', 'delete'], ['', 'backspace']]],
	['Ctrl-C in a burst', 'a\u0003', {}, [['a', ''], ['c', 'ctrl']]],
	['a tab in a burst', 'a\t', {}, [['a', ''], ['', 'tab']]],
	['non-BMP characters stay whole', 'a😀', {}, [['a', ''], ['😀', '']]],
	['an arrow key, as Ink reports it', '', {downArrow: true}, [['', 'downArrow']]],
	['Enter alone, as Ink reports it', '', {return: true}, [['', 'return']]],
	['Ctrl-C alone', 'c', {ctrl: true}, [['c', 'ctrl']]],
	['Escape then a letter (read as Alt+letter)', 'r', {meta: true}, [['', 'escape+meta'], ['r', '']]],
	['Escape alone', '', {escape: true, meta: true}, [['', 'escape+meta']]],
];

for (const [name, input, key, expected] of cases) {
	test(`one read as keys: ${name}`, t => {
		t.deepEqual(splitKeys(input, {...none, ...key}).map(press => [press.input, flags(press.key)]), expected);
	});
}

/** Keys one at a time, each once the frame shows it was taken; then the same keys in one write. */
test('a burst in one read gives the same screens as the keys typed one by one: filter, Enter, run, pick, arguments, confirm', async t => {
	const oneByOne = new FakeCore();
	const slow = await renderApp(oneByOne);
	t.teardown(slow.unmount);
	await waitForFrame(slow, 'web3   127.0.0.1:7446 reachable');
	await press(slow, '/', 'Filter: ');
	await press(slow, 'site=london', '3 of 6 agents');
	await press(slow, keys.enter, 'Filter (/): site=london');
	await press(slow, 'r', 'pick one');
	await press(slow, keys.enter, 'arguments');
	await press(slow, keys.enter, 'Enter to run');
	await press(slow, keys.enter, 'request');
	await until(() => oneByOne.runs.length === 1);
	const expected = await waitForFrame(slow, 'request');

	const burst = new FakeCore();
	const fast = await renderApp(burst);
	t.teardown(fast.unmount);
	await waitForFrame(fast, 'web3   127.0.0.1:7446 reachable');
	fast.stdin.write('/site=london\rr\r\r\r');
	await until(() => burst.runs.length === 1);
	t.is(await waitForFrame(fast, 'request'), expected);
	t.deepEqual(burst.runs.map(run => run.request), oneByOne.runs.map(run => run.request));
	t.deepEqual(burst.runs[0]!.request.targets, ['db1', 'web1', 'web3']);
});

test('a burst of moves moves as far as the keys one by one', async t => {
	const console = await renderApp(new FakeCore());
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	console.stdin.write('jjj');
	await press(console, '\r', 'agent');
	t.regex(await waitForFrame(console, 'web1'), /web1/, 'three moves down from cache1 is web1');
});

test('a pasted pairing code with its Enter approves', async t => {
	const core = new FakeCore({codes: {web4: '482913'}});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'p', 'Listening on');
	core.pairing!.emit(pendingRequest('web4', 0, {env: 'staging', role: 'web'}));
	await waitForFrame(console, '1 pending request');
	console.stdin.write('482913\r');
	await waitForFrame(console, 'approved');
	t.deepEqual(core.pairing!.approvals, [{agent: 'web4', code: '482913'}]);
});
