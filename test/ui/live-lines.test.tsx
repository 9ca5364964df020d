import test from 'ava';
import {appendOutput, liveLineLimit, type LiveLine} from '../../source/ui/screens/run/live-lines.js';
import {FakeCore} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame} from './helpers/frames.js';

const feed = (chunks: Array<[LiveLine['stream'], string]>) => chunks.reduce<LiveLine[]>((lines, [stream, data]) => appendOutput(lines, stream, data), []).map(line => `${line.stream === 'stderr' ? 'E' : 'O'}${line.open ? '…' : ''} ${line.text}`);

const cases: Array<[string, Array<[LiveLine['stream'], string]>, string[]]> = [
	['whole lines', [['stdout', 'a\nb\n']], ['O a', 'O b']],
	['a line in two chunks', [['stdout', 'ab'], ['stdout', 'c\n']], ['O abc']],
	['stderr between stdout lines', [['stdout', 'one\n'], ['stderr', 'oops\n'], ['stdout', 'two\n']], ['O one', 'E oops', 'O two']],
	['an open stdout line is not continued by stderr', [['stdout', 'half'], ['stderr', 'err\n'], ['stdout', ' more\n']], ['O… half', 'E err', 'O  more']],
	['empty lines are kept', [['stdout', 'a\n\nb\n']], ['O a', 'O ', 'O b']],
	['an unterminated last line is open', [['stderr', 'x\ny']], ['E x', 'E… y']],
];

for (const [name, chunks, expected] of cases) {
	test(`live lines: ${name}`, t => {
		t.deepEqual(feed(chunks), expected);
	});
}

test(`live lines: only the last ${liveLineLimit} are kept`, t => {
	const lines = appendOutput([], 'stdout', Array.from({length: liveLineLimit + 5}, (_, index) => `line ${index}\n`).join(''));
	t.is(lines.length, liveLineLimit);
	t.is(lines[0]!.text, 'line 5');
});

test('run: stderr is marked in the live panes, in the order the lines came', async t => {
	const core = new FakeCore();
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'r', 'pick one');
	await press(console, keys.enter, 'arguments');
	await press(console, keys.enter, 'agents?');
	await press(console, keys.enter, 'request');
	const [run] = core.runs;
	run!.emit({type: 'run-started', requestId: run!.requestId, script: 'check-service', args: [], targets: ['web1', 'web2', 'web3']});
	run!.emit({type: 'agent-started', agent: 'web1'});
	run!.emit({type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'checking upstream\n'});
	run!.emit({type: 'agent-output', agent: 'web1', stream: 'stderr', data: 'upstream: connection refused\n'});
	run!.emit({type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'retrying\n'});
	const frame = await waitForFrame(console, 'retrying');
	t.regex(frame, /│ checking upstream +│\n│ stderr│ upstream: connection refused +│\n│ retrying +│/);
});
