import test from 'ava';
import {LineSplitter} from '../../source/protocol/line-splitter.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

test('splits a chunk into its complete lines and keeps the rest', t => {
	const splitter = new LineSplitter(100);
	t.deepEqual(splitter.push(bytes('one\ntwo\nthr')), {lines: ['one', 'two'], overflow: false});
	t.true(splitter.hasPartialLine);
	t.deepEqual(splitter.push(bytes('ee\n')), {lines: ['three'], overflow: false});
	t.false(splitter.hasPartialLine);
});

test('joins a line sent across many chunks', t => {
	const splitter = new LineSplitter(100);
	t.deepEqual(splitter.push(bytes('{"v"')), {lines: [], overflow: false});
	t.deepEqual(splitter.push(bytes(':1')), {lines: [], overflow: false});
	t.deepEqual(splitter.push(bytes('}\n{')), {lines: ['{"v":1}'], overflow: false});
	t.true(splitter.hasPartialLine);
});

test('keeps a multi-byte character split between chunks whole', t => {
	const splitter = new LineSplitter(100);
	const text = bytes('né€😀\n');
	for (let index = 0; index < text.length - 1; index++) {
		t.deepEqual(splitter.push(text.subarray(index, index + 1)), {lines: [], overflow: false});
	}

	t.deepEqual(splitter.push(text.subarray(-1)), {lines: ['né€😀'], overflow: false});
});

test('returns empty lines as empty strings', t => {
	const splitter = new LineSplitter(100);
	t.deepEqual(splitter.push(bytes('\n\na\n')), {lines: ['', '', 'a'], overflow: false});
});

test('accepts a line of exactly maxBytes and overflows at one more', t => {
	t.deepEqual(new LineSplitter(4).push(bytes('abcd\n')), {lines: ['abcd'], overflow: false});
	t.deepEqual(new LineSplitter(4).push(bytes('abcde\n')), {lines: [], overflow: true});
});

test('counts bytes, not characters', t => {
	// Two characters, four bytes.
	t.deepEqual(new LineSplitter(3).push(bytes('éé\n')), {lines: [], overflow: true});
	t.deepEqual(new LineSplitter(4).push(bytes('éé\n')), {lines: ['éé'], overflow: false});
});

test('overflows as soon as an unterminated line passes maxBytes, without waiting for a newline', t => {
	const splitter = new LineSplitter(8);
	t.deepEqual(splitter.push(bytes('12345')), {lines: [], overflow: false});
	t.deepEqual(splitter.push(bytes('678')), {lines: [], overflow: false});
	t.deepEqual(splitter.push(bytes('9')), {lines: [], overflow: true});
});

test('an overflow across chunks counts the bytes already pending', t => {
	const splitter = new LineSplitter(8);
	t.deepEqual(splitter.push(bytes('123456')), {lines: [], overflow: false});
	t.deepEqual(splitter.push(bytes('789\n')), {lines: [], overflow: true});
});

test('returns the complete lines that came before an overflowing one', t => {
	const splitter = new LineSplitter(4);
	t.deepEqual(splitter.push(bytes('ok\nfine\ntoo long')), {lines: ['ok', 'fine'], overflow: true});
});

test('keeps a carriage return: the line is what was sent before the newline', t => {
	t.deepEqual(new LineSplitter(10).push(bytes('a\r\n')), {lines: ['a\r'], overflow: false});
});

test('splits any chunking of a stream into the lines of the whole, and overflows where the whole does', t => {
	let seed = 7;
	const next = () => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return seed / 2_147_483_648;
	};

	const pieces = ['a', 'é', '€', '😀', '\n', '{"v":1}', '\r'];
	for (let n = 0; n < 500; n++) {
		const text = Array.from({length: Math.floor(next() * 40)}, () => pieces[Math.floor(next() * pieces.length)]!).join('');
		const whole = bytes(text);
		const maxBytes = 1 + Math.floor(next() * 24);
		const expected = new LineSplitter(maxBytes).push(whole);
		const splitter = new LineSplitter(maxBytes);
		const lines: string[] = [];
		let overflow = false;
		for (let start = 0; start < whole.length && !overflow;) {
			const end = Math.min(whole.length, start + 1 + Math.floor(next() * 9));
			const split = splitter.push(whole.subarray(start, end));
			lines.push(...split.lines);
			overflow = split.overflow;
			start = end;
		}

		t.deepEqual(lines, expected.lines, JSON.stringify(text));
		t.is(overflow, expected.overflow, JSON.stringify(text));
		if (!expected.overflow) {
			// Without an overflow, the lines are the text's own.
			t.deepEqual(lines, text.split('\n').slice(0, -1), JSON.stringify(text));
		}
	}
});
