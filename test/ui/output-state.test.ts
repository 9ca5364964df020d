import test from 'ava';
import {initialOutputState, reduceOutput, topLine, type OutputAction, type OutputState} from '../../source/ui/screens/output/use-output-state.js';
import {outputLines} from '../../source/ui/screens/output/output-lines.js';

const lines = Array.from({length: 50}, (_, index) => `line ${index + 1}${index === 30 ? ' ERROR disk full' : ''}`);
const fold = (actions: OutputAction[], state: OutputState = initialOutputState) => actions.reduce(reduceOutput, state);
const scroll = (delta: number): OutputAction => ({type: 'scroll', delta, lines: lines.length, rows: 10});
const find = (direction: 1 | -1): OutputAction => ({type: 'find', direction, lines, rows: 10});

const cases: Array<[string, OutputAction[], Partial<OutputState> & {shownFrom: number}]> = [
	['a new view follows the end', [], {follow: true, shownFrom: 40}],
	['up a line stops following', [scroll(-1)], {follow: false, shownFrom: 39}],
	['Home goes to the first line', [scroll(-Infinity)], {follow: false, shownFrom: 0}],
	['End follows again', [scroll(-Infinity), scroll(Infinity)], {follow: true, shownFrom: 40}],
	['a page down from the top', [scroll(-Infinity), scroll(9)], {shownFrom: 9}],
	['past the end stays at the last page', [scroll(-Infinity), scroll(500)], {follow: true, shownFrom: 40}],
	['a search finds the line, from the top shown', [scroll(-Infinity), {type: 'search-start'}, {type: 'search-type', text: 'error'}, find(1)], {editing: false, search: 'error', shownFrom: 30}],
	['n finds the next match', [scroll(-Infinity), {type: 'search-start'}, {type: 'search-type', text: 'line 4'}, find(1), find(1)], {shownFrom: 39}],
	['N searches backwards, round the start', [scroll(-Infinity), {type: 'search-start'}, {type: 'search-type', text: 'line 1'}, find(-1)], {shownFrom: 18}],
	['no match says so and stays', [scroll(-Infinity), {type: 'search-start'}, {type: 'search-type', text: 'nowhere'}, find(1)], {notice: '"nowhere" is not in this output', shownFrom: 0}],
	['Esc while typing the search drops it', [{type: 'search-start'}, {type: 'search-type', text: 'x'}, {type: 'search-cancel'}], {editing: false, search: '', shownFrom: 40}],
	['erase while typing', [{type: 'search-start'}, {type: 'search-type', text: 'ab'}, {type: 'search-erase'}], {editing: true, search: 'a'}] as never,
];

for (const [name, actions, expected] of cases) {
	test(`output view: ${name}`, t => {
		const state = fold(actions);
		const {shownFrom, ...rest} = expected as Partial<OutputState> & {shownFrom?: number};
		if (Object.keys(rest).length > 0) {
			t.like(state, rest);
		}

		if (shownFrom !== undefined) {
			t.is(topLine(state, lines.length, 10), shownFrom);
		}
	});
}

test('output lines: stdout, then stderr marked as such, once the host has finished; a note when truncated or empty', t => {
	const result = {agent: 'web1', status: 'failed' as const, exitCode: 3, signal: null, stdout: 'one\ntwo\n', stderr: 'bad\n', truncated: true, durationMs: 5};
	t.deepEqual(outputLines({name: 'web1', phase: 'failed', output: 'one\nbad\ntwo\n', result}), [
		{text: 'one', stream: 'stdout'},
		{text: 'two', stream: 'stdout'},
		{text: 'bad', stream: 'stderr'},
		{text: '(output truncated by the agent\'s limit)', stream: 'note'},
	]);
	t.deepEqual(outputLines({name: 'web1', phase: 'running', output: 'so far\n'}), [{text: 'so far', stream: 'stdout'}]);
	t.deepEqual(outputLines({name: 'web1', phase: 'ok', output: '', result: {...result, status: 'ok', stdout: '', stderr: '', truncated: false}}), [{text: '(no output)', stream: 'note'}]);
	t.deepEqual(outputLines({name: 'web1', phase: 'running', output: 'a\u001B[2Jb\n'}), [{text: String.raw`a\x1b[2Jb`, stream: 'stdout'}], 'escape sequences spelled out');
});
