import test from 'ava';
import {safeJson, visible, visibleLines} from '../../source/output/visible.js';

const cases: Array<{title: string; text: string; shown: string}> = [
	{title: 'plain text and non-ASCII letters are kept', text: 'héllo wörld ✓ 日本', shown: 'héllo wörld ✓ 日本'},
	{title: 'a tab is kept', text: 'a\tb', shown: 'a\tb'},
	{title: 'a colour escape is spelled out', text: '\u001B[31mred\u001B[0m', shown: '\\x1b[31mred\\x1b[0m'},
	{title: 'a clear-screen sequence is spelled out', text: '\u001B[2J\u001B[H', shown: '\\x1b[2J\\x1b[H'},
	{title: 'an OSC title change ending in BEL is spelled out', text: '\u001B]0;owned\u0007', shown: '\\x1b]0;owned\\x07'},
	{title: 'a carriage return cannot overwrite the line', text: 'ok\rFAILED', shown: 'ok\\x0dFAILED'},
	{title: 'a newline is spelled out', text: 'a\nb', shown: 'a\\x0ab'},
	{title: 'a backspace is spelled out', text: 'x\bY', shown: 'x\\x08Y'},
	{title: 'NUL and DEL are spelled out', text: '\u0000\u007F', shown: '\\x00\\x7f'},
	{title: 'C1 controls, CSI included, are spelled out', text: '\u009B31m\u0085', shown: '\\x9b31m\\x85'},
	{title: 'a right-to-left override is spelled out', text: 'file\u202Etxt.exe', shown: 'file\\u{202e}txt.exe'},
	{title: 'bidi isolates and marks are spelled out', text: '\u2066\u2067\u2068\u2069\u200E\u200F\u061C', shown: '\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{200e}\\u{200f}\\u{61c}'},
	{title: 'line and paragraph separators are spelled out', text: 'a\u2028b\u2029c', shown: 'a\\u{2028}b\\u{2029}c'},
	{title: 'a backslash is left as it is', text: 'C:\\x1b', shown: 'C:\\x1b'},
	{title: 'zero-width characters are spelled out', text: 'ad\u200Bmin\u200C\u200D\u2060\uFEFF\u180E', shown: 'ad\\u{200b}min\\u{200c}\\u{200d}\\u{2060}\\u{feff}\\u{180e}'},
	{title: 'OSC 52 (write the clipboard) is spelled out', text: '\u001B]52;c;aGk=\u0007', shown: '\\x1b]52;c;aGk=\\x07'},
];

for (const c of cases) {
	test(`visible: ${c.title}`, t => {
		t.is(visible(c.text), c.shown);
	});
}

test('visibleLines keeps line breaks and makes each line visible', t => {
	t.deepEqual(visibleLines('one\u001B[1m\ntwo\r\n'), ['one\\x1b[1m', 'two\\x0d', '']);
});

test('safeJson: C0, DEL, C1, bidi, zero-width and separators become JSON escapes; the value parses back exactly', t => {
	const value = {text: 'a\u001B[1m\u007F\u009B\u0085\u202E\u2066\u200B\uFEFF\u2028b', list: ['\u061C', 'plain é ✓']};
	const text = safeJson(value);
	t.is(text, '{"text":"a\\u001b[1m\\u007f\\u009b\\u0085\\u202e\\u2066\\u200b\\ufeff\\u2028b","list":["\\u061c","plain é ✓"]}');
	t.deepEqual(JSON.parse(text), value);
	t.is(safeJson({a: ['\u202E']}, 2), '{\n  "a": [\n    "\\u202e"\n  ]\n}');
});
