/** linesBackwards (source/io/lines-backwards.ts): a file's lines, last first, across chunk boundaries. */
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {linesBackwards} from '../../source/io/lines-backwards.js';
import {temporaryDirectory} from '../helpers/fleet.js';

function fileOf(text: string): string {
	const path = join(temporaryDirectory(), 'log.jsonl');
	writeFileSync(path, text);
	return path;
}

function collect(path: string, options: {chunkBytes?: number; maxLineBytes?: number}, stopAt?: string): string[] {
	const seen: string[] = [];
	linesBackwards(path, line => {
		seen.push(line);
		return line === stopAt ? 'stop' : undefined;
	}, options);
	return seen;
}

const text = 'first line\nsecond, a little longer\n\nthird é (two bytes)\nlast, no newline';

for (const chunkBytes of [1, 2, 3, 7, 16, 1024]) {
	test(`every line, last first, whatever the chunk (${chunkBytes} bytes); empty lines skipped; UTF-8 cut across chunks kept whole`, t => {
		t.deepEqual(collect(fileOf(text), {chunkBytes}), ['last, no newline', 'third é (two bytes)', 'second, a little longer', 'first line']);
	});
}

test('"stop" ends the read at that line', t => {
	t.deepEqual(collect(fileOf(text), {chunkBytes: 4}, 'third é (two bytes)'), ['last, no newline', 'third é (two bytes)']);
});

test('a line longer than maxLineBytes is skipped, the lines around it are not (first, middle and last place)', t => {
	const long = 'x'.repeat(100);
	t.deepEqual(collect(fileOf(`a\n${long}\nb\n`), {chunkBytes: 8, maxLineBytes: 20}), ['b', 'a']);
	t.deepEqual(collect(fileOf(`${long}\nb\n`), {chunkBytes: 8, maxLineBytes: 20}), ['b']);
	t.deepEqual(collect(fileOf(`a\n${long}`), {chunkBytes: 8, maxLineBytes: 20}), ['a']);
	t.deepEqual(collect(fileOf(`a\n${'y'.repeat(20)}\nb`), {chunkBytes: 8, maxLineBytes: 20}), ['b', 'y'.repeat(20), 'a'], 'a line of exactly the limit is kept');
});

test('a missing file has no lines; a directory is an error', t => {
	t.deepEqual(collect(join(temporaryDirectory(), 'none.jsonl'), {}), []);
	t.throws(() => collect(temporaryDirectory(), {}), {code: 'EISDIR'});
});
