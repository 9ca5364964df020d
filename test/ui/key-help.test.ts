import test from 'ava';
import {footer, keyTable, type KeyPlace} from '../../source/ui/key-help.js';

/** The footer of every place at 80 columns: the keys that work there, and no key of another step. */
const expected: Record<KeyPlace, string> = {
	fleet: '↑↓ move · / filter · Enter open · r run · p pair · h history · ? help · q quit',
	filter: 'type the filter · Enter keep · Esc clear · Backspace erase · Ctrl-C quit',
	agent: 'r run on this agent · h its runs · Esc back · ? help · Ctrl-C quit',
	pick: '↑↓ move · Enter pick · Esc back · ? help · PgUp PgDn page · Ctrl-C quit',
	args: 'type the arguments · Enter go on · Esc back · Backspace erase · Ctrl-C quit',
	confirm: 'Enter run · d dry run · b m c t controls · digits the count if asked · Esc back',
	control: 'type the value · Enter set · Esc keep · Backspace erase · Ctrl-C quit',
	running: '↑↓ move · Enter output · c cancel · ? help · PgUp PgDn page',
	canary: 'y go on · n stop here · ↑↓ move · Enter output · c cancel · ? help',
	finished: '↑↓ move · Enter output · f rerun failed · a audit · Esc back · ? help',
	output: '↑↓ scroll · / search · n next · Esc back · ? help · PgUp PgDn page · Ctrl-C quit',
	'output-search': 'type the text to find · Enter find · Esc stop searching · Ctrl-C quit',
	pairing: '↑↓ select request · type the agent\'s code, Enter approves · x reject · Esc back',
	audit: '↑↓ scroll · g read again · ? help · Esc back · Ctrl-C quit',
	'audit-run': '↑↓ scroll · g read again · A all requests · ? help · Esc back · Ctrl-C quit',
	history: '↑↓ move · Enter open · / search · Esc back · g read again · ? help',
	'history-search': 'type the text to find · Enter keep · Esc clear · Backspace erase · Ctrl-C quit',
	help: 'any key: back',
};

for (const [place, line] of Object.entries(expected) as Array<[KeyPlace, string]>) {
	test(`footer of ${place} at 80 columns`, t => {
		t.is(footer(place, 80), line);
		t.true([...line].length <= 80);
	});
}

test('a footer never cuts a key in half: a narrower terminal drops whole keys from the end', t => {
	t.is(footer('fleet', 40), '↑↓ move · / filter · Enter open · r run');
	t.is(footer('fleet', 5), '');
});

test('typing steps do not advertise letters that are typed into them', t => {
	for (const place of ['filter', 'args', 'output-search', 'history-search', 'control'] as const) {
		t.false(/(^| · )[a-z] /.test(footer(place, 200)), footer(place, 200));
	}
});

test('every place lists its keys once, and every place with keys says how to leave', t => {
	for (const [place, rows] of Object.entries(keyTable)) {
		const keys = rows.map(([key]) => key);
		t.is(new Set(keys).size, keys.length, place);
		t.true(rows.some(([key, meaning]) => /Esc|any key|q|Ctrl-C/.test(key) && /back|quit|clear|stop/.test(meaning)), place);
	}
});
