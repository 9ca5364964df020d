import test from 'ava';
import {checkArgs} from '../../source/protocol/args.js';
import {limits} from '../../source/protocol/frames.js';

const refusals: Array<{title: string; args: string[]; problem: string}> = [
	{title: 'one argument too many', args: Array.from({length: limits.argCount + 1}, () => 'a'), problem: '65 arguments given; the limit is 64'},
	{title: 'a NUL byte', args: ['fine', 'a\u0000b'], problem: 'argument 2 contains a NUL byte'},
	{title: 'a lone NUL byte', args: ['\u0000'], problem: 'argument 1 contains a NUL byte'},
	{title: 'a lone high surrogate', args: ['fine', 'a\uD800b'], problem: 'argument 2 is not well-formed Unicode (a lone surrogate), which argv cannot carry as it is'},
	{title: 'a lone low surrogate at the end', args: ['x\uDC00'], problem: 'argument 1 is not well-formed Unicode (a lone surrogate), which argv cannot carry as it is'},
	{title: 'two surrogates in the wrong order', args: ['\uDC00\uD800'], problem: 'argument 1 is not well-formed Unicode (a lone surrogate), which argv cannot carry as it is'},
	{title: 'an argument one byte over the limit', args: ['x'.repeat(limits.argBytes + 1)], problem: 'argument 1 is 8193 bytes; the limit is 8192'},
	{title: 'an argument over the limit in UTF-8 bytes only', args: ['ok', 'é'.repeat((limits.argBytes / 2) + 1)], problem: 'argument 2 is 8194 bytes; the limit is 8192'},
	{title: 'a total over the limit', args: Array.from({length: 5}, () => 'x'.repeat(limits.argBytes)), problem: 'arguments total 40960 bytes; the limit is 32768'},
];

for (const c of refusals) {
	test(`checkArgs refuses ${c.title}`, t => {
		t.is(checkArgs(c.args), c.problem);
	});
}

const accepted: Array<{title: string; args: string[]}> = [
	{title: 'a surrogate pair (an emoji) and look-alike dashes', args: ['\uD83D\uDE00', '\u2212rf', '\uFF0Drf']},
	{title: 'no arguments', args: []},
	{title: 'exactly the maximum count', args: Array.from({length: limits.argCount}, () => 'a')},
	{title: 'an argument of exactly the byte limit', args: ['x'.repeat(limits.argBytes)]},
	{title: 'exactly the total limit', args: Array.from({length: 4}, () => 'x'.repeat(limits.argBytes))},
	{title: 'newlines, tabs and shell syntax, which are data', args: ['a\nb', '\t', '$(touch /tmp/x)', '; rm -rf /', '\'"`', '']},
];

for (const c of accepted) {
	test(`checkArgs accepts ${c.title}`, t => {
		t.is(checkArgs(c.args), undefined);
	});
}
