import test from 'ava';
import {collectNotes} from '../../source/run/agent-notes.js';

test('each distinct note once, in the order first heard, with how often it came', t => {
	const notes = collectNotes();
	for (const note of ['dup', 'status asked', 'dup', 'dup']) {
		notes.add(note);
	}

	t.deepEqual(notes.list(), ['dup (×3)', 'status asked']);
});

test('no notes: an empty list', t => {
	t.deepEqual(collectNotes().list(), []);
});

test('past the limit of distinct notes, one more line says how many were left out (repeats of kept ones still count)', t => {
	const notes = collectNotes(2);
	for (const note of ['a', 'b', 'c', 'd', 'a']) {
		notes.add(note);
	}

	t.deepEqual(notes.list(), ['a (×2)', 'b', '2 more notes left out']);
});
