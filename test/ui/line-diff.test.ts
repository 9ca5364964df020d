/**
 * Frames as the lines that changed (ui/line-diff.ts): for each sequence of frames, what Ink
 * writes (each frame whole, erasing the one before) and what the console sends instead give the
 * same screen after every frame, in a model of the terminal (bench/console-screen.ts), and the
 * latter is shorter. tmux checks the same on a real terminal (test/e2e/console-tmux.test.ts).
 */
import test from 'ava';
import {Screen} from '../../bench/console-screen.js';
import {createLineDiff} from '../../source/ui/line-diff.js';

/** ansi-escapes' eraseLines(n), as Ink's log-update sends it before a frame. */
const eraseLines = (count: number) => (count === 0 ? '' : '\u001B[2K\u001B[1A'.repeat(count - 1) + '\u001B[2K\u001B[G');

/** What Ink 6 writes for these frames: each whole, after erasing the lines of the one before (and the cursor's line below it). */
function inkWrites(frames: readonly string[]): string[] {
	let previousLines = 0;
	return frames.map(frame => {
		const text = eraseLines(previousLines) + frame + '\n';
		previousLines = frame.split('\n').length + 1;
		return text;
	});
}

const spinner = (glyph: string, elapsed: string) => [
	'xi-exec                                                                      run',
	'check-service  request 1',
	`1 running · 1 ok   ${elapsed}`,
	`web1  ${glyph} running`,
	'web2  \u001B[32m✓ ok\u001B[39m',
	'\u001B[2m↑↓ move · Enter output\u001B[22m',
].join('\n');

const cases: Array<{name: string; frames: string[]}> = [
	{name: 'a spinner ticks', frames: [spinner('⠋', '0.1 s'), spinner('⠙', '0.1 s'), spinner('⠹', '0.2 s'), spinner('⠹', '0.2 s')]},
	{name: 'a frame grows and shrinks', frames: ['a\nb', 'a\nb\nc\nd', 'a\nB', 'x', 'x\ny\nz']},
	{name: 'the first and the last line change', frames: ['one\ntwo\nthree', 'ONE\ntwo\nthree', 'ONE\ntwo\nTHREE']},
	{name: 'a line as wide as the terminal', frames: ['x'.repeat(40) + '\nshort', 'y'.repeat(40) + '\nshort', 'y'.repeat(39) + '\nshorter']},
	{name: 'empty lines and a blank frame', frames: ['a\n\n\nb', '\n\n\n', 'c\n\n\nd']},
];

for (const {name, frames} of cases) {
	test(`line diff: ${name} — the same screen after every frame, fewer bytes`, t => {
		const whole = new Screen(12);
		const changed = new Screen(12);
		const diff = createLineDiff();
		let wholeBytes = 0;
		let changedBytes = 0;
		for (const write of inkWrites(frames)) {
			whole.write(write);
			const sent = diff.translate(write);
			changed.write(sent);
			wholeBytes += write.length;
			changedBytes += sent.length;
			t.is(changed.text(), whole.text());
		}

		t.true(changedBytes < wholeBytes, `${changedBytes} < ${wholeBytes}`);
	});
}

test('line diff: a frame that repeats the one on screen sends only cursor moves; modes pass as they are', t => {
	const diff = createLineDiff();
	const [first = '', second = ''] = inkWrites(['a\nb\nc', 'a\nb\nc']);
	t.is(diff.translate('\u001B[?25l'), '\u001B[?25l');
	t.is(diff.translate(first), first);
	t.is(diff.translate('\u001B[?2026h'), '\u001B[?2026h');
	t.is(diff.translate(second), '\u001B[3A\r\u001B[3B');
});

test('line diff: after a write it does not know, or a reset (a resize), the next frame goes whole', t => {
	const [first = '', second = '', third = ''] = inkWrites(['a\nb', 'a\nc', 'a\nd']);
	const unknown = createLineDiff();
	unknown.translate(first);
	unknown.translate('something else');
	t.is(unknown.translate(second), second, 'written whole');
	t.is(unknown.translate(third), '\u001B[2A\r\u001B[1B\u001B[Kd\n', 'and diffed again from there');

	const resized = createLineDiff();
	resized.translate(first);
	resized.reset();
	t.is(resized.translate(second), second);
});

test('line diff: an erase of a different number of lines than on screen goes as it is', t => {
	const diff = createLineDiff();
	diff.translate('a\nb\n');
	const odd = eraseLines(5) + 'x\n';
	t.is(diff.translate(odd), odd);
});
