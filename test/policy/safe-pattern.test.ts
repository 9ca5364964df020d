import test from 'ava';
import {compileGuardedPattern, maxPatternLength} from '../../source/policy/safe-pattern.js';

const nested = 'a quantified group contains a quantifier (like (a+)+), which can take exponential time';
const alternation = 'a repeated group contains an alternation (like (a|aa)+), which can take exponential time';
const lookaround = 'backreferences and lookaround are not allowed';

const refusals: Array<{source: string; reason: string; why: string}> = [
	{source: '(a+)+', reason: nested, why: 'the textbook case'},
	{source: '(a*)*', reason: nested, why: 'a star inside a star'},
	{source: '((ab)*)+', reason: nested, why: 'a quantified group inside a quantified group'},
	{source: '(?:a+)+', reason: nested, why: 'a non-capturing group'},
	{source: '(a+){2,}', reason: nested, why: 'a brace quantifier on the group'},
	{source: '(a{2})+', reason: nested, why: 'a brace quantifier inside'},
	{source: '(a+)?', reason: nested, why: 'an optional group holding a quantifier'},
	{source: '(\\w+\\s?)+', reason: nested, why: 'the shape of the classic e-mail ReDoS'},
	{source: '(a?a?)+', reason: nested, why: 'optional parts inside a repeated group (it took 24 s on 21 characters when it was allowed)'},
	{source: '(x\\(?)+', reason: nested, why: 'a ? after an escaped parenthesis still quantifies'},
	{source: '(a|aa)+', reason: alternation, why: 'two ways to match "aa", tried again at each repetition'},
	{source: '(a|a)*', reason: alternation, why: 'the same alternative twice ((a|a)+ took 3.8 s on 25 characters when it was allowed)'},
	{source: '((a|aa))+', reason: alternation, why: 'an alternation one group further in'},
	{source: '(foo|bar){1,50}', reason: alternation, why: 'a bounded but large repetition'},
	{source: '(a)\\1', reason: lookaround, why: 'a backreference'},
	{source: '(?<n>a)\\k<n>', reason: lookaround, why: 'a named backreference'},
	{source: '(?=a)a', reason: lookaround, why: 'a lookahead'},
	{source: '(?!a)b', reason: lookaround, why: 'a negative lookahead'},
	{source: '(?<=a)b', reason: lookaround, why: 'a lookbehind'},
	{source: '(?<!a)b', reason: lookaround, why: 'a negative lookbehind'},
	{source: 'a)|(b', reason: 'not a regular expression: Invalid regular expression: /a)|(b/u: Unmatched \')\'', why: 'unbalanced: wrapped as ^(?:a)|(b)$ it would compile and match anything starting with a'},
	{source: ')|.*|(', reason: 'not a regular expression: Invalid regular expression: /)|.*|(/u: Unmatched \')\'', why: 'unbalanced: wrapped it would match everything'},
	{source: '[a-', reason: 'not a regular expression: Invalid regular expression: /[a-/u: Unterminated character class', why: 'not a pattern at all'},
	{source: 'a'.repeat(maxPatternLength + 1), reason: `the pattern is longer than ${maxPatternLength} characters`, why: 'too long'},
];

for (const row of refusals) {
	test(`refuses ${JSON.stringify(row.source.length > 40 ? `${row.source.slice(0, 20)}…` : row.source)}: ${row.why}`, t => {
		t.deepEqual(compileGuardedPattern(row.source), {ok: false, reason: row.reason});
	});
}

test('a pattern of exactly the maximum length is accepted', t => {
	t.true(compileGuardedPattern('a'.repeat(maxPatternLength)).ok);
});

/** A pattern, whole arguments it matches, and arguments it must not match (it is anchored to the whole argument). */
const accepted: Array<{source: string; matches: string[]; rejects: string[]}> = [
	{source: 'abc', matches: ['abc'], rejects: ['xabc', 'abcx', 'abc\n', '\nabc', 'ab']},
	{source: '^abc$', matches: ['abc'], rejects: ['xabc', 'abcx', 'abc\n']},
	{source: 'a|b', matches: ['a', 'b'], rejects: ['ab', 'ba', 'a\nb', 'xa']},
	{source: '^a|b$', matches: ['a', 'b'], rejects: ['ab', 'axx', 'xxb']},
	{source: '[a-z]+\\.log', matches: ['nginx.log'], rejects: ['nginx.log.bak', '/etc/nginx.log', 'nginx.log ']},
	{source: 'price\\$', matches: ['price$'], rejects: ['price', 'price$$']},
	{source: '[0-9]{1,4}', matches: ['7', '1234'], rejects: ['', '12345', '１２']},
	{source: '(foo|bar)', matches: ['foo', 'bar'], rejects: ['foobar', 'fo']},
	{source: '(-v|--verbose)?', matches: ['', '-v', '--verbose'], rejects: ['-v-v']},
	{source: '(ab)+', matches: ['ab', 'abab'], rejects: ['aba', '']},
	{source: '(?:[a-z]+)', matches: ['abc'], rejects: ['ab1']},
	{source: '[(]+', matches: ['((('], rejects: ['(a']},
	{source: '\\(a+\\)+', matches: ['(aa))'], rejects: ['aa']},
	{source: '.*', matches: ['', 'anything at all'], rejects: ['two\nlines']},
];

for (const row of accepted) {
	test(`accepts ${JSON.stringify(row.source)} and anchors it to the whole argument`, t => {
		const compiled = compileGuardedPattern(row.source);
		if (!compiled.ok) {
			t.fail(compiled.reason);
			return;
		}

		t.is(compiled.pattern.source, `^(?:${row.source})$`);
		t.deepEqual(row.matches.filter(argument => !compiled.pattern.test(argument)), [], 'arguments it should match');
		t.deepEqual(row.rejects.filter(argument => compiled.pattern.test(argument)), [], 'arguments it should not match');
	});
}

test('accepted patterns stay fast on hostile input of the largest argument size', t => {
	const hostile = `${'a'.repeat(8191)}!`;
	for (const source of ['(ab)+', '[a-z]+\\.log', '(foo|bar)', '(-v|--verbose)?', 'a|b', '.*x']) {
		const compiled = compileGuardedPattern(source);
		if (!compiled.ok) {
			t.fail(compiled.reason);
			continue;
		}

		const started = performance.now();
		compiled.pattern.test(hostile);
		t.true(performance.now() - started < 200, `${source} took ${Math.round(performance.now() - started)} ms`);
	}
});
