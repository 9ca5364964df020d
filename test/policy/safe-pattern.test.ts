import test from 'ava';
import {check} from 'recheck';
import {compileGuardedPattern, maxChoices, maxPatternLength} from '../../source/policy/safe-pattern.js';

/**
 * recheck (a ReDoS checker we did not write) with its automata-theory checker: it decides from the
 * pattern's automaton whether matching can take exponential or polynomial time in the input's
 * length, with no input timed and no random fuzzing, so the same pattern always gets the same
 * answer. `safe` means constant or linear.
 */
async function complexity(pattern: RegExp): Promise<string> {
	const diagnosis = await check(pattern.source, pattern.flags, {checker: 'automaton', timeout: null});
	return diagnosis.status === 'safe' ? 'linear' : diagnosis.status === 'vulnerable' ? diagnosis.complexity.type : `unknown (${diagnosis.error.kind})`;
}

const nested = 'a repeated group contains a quantifier (like (a+)+), which can take exponential time';
const alternation = 'a repeated group contains an alternation (like (a|aa)+), which can take exponential time';
const lookaround = 'backreferences and lookaround are not allowed';
const polynomial = 'two repeats can take the same characters one after the other (like a*a* or \\w+\\s?\\w+), which can take polynomial time: put a character the first repeat cannot match between them';
const choices = `more than ${maxChoices} ways to match one stretch of the pattern (options and bounded repeats like .{0,9}.{0,9}.{0,9} multiply), which is too slow on long arguments`;

/** `risk`: the complexity recheck finds in the pattern as it would run (anchored), where the refusal stops a real one. */
const refusals: Array<{source: string; reason: string; why: string; risk?: 'exponential' | 'polynomial'}> = [
	{source: '(a+)+', reason: nested, why: 'the textbook case', risk: 'exponential'},
	{source: '(a*)*', reason: nested, why: 'a star inside a star', risk: 'exponential'},
	{source: '((ab)*)+', reason: nested, why: 'a quantified group inside a quantified group'},
	{source: '(?:a+)+', reason: nested, why: 'a non-capturing group'},
	{source: '(a+){2,}', reason: nested, why: 'a brace quantifier on the group'},
	{source: '(a{2})+', reason: nested, why: 'a brace quantifier inside'},
	{source: '((a+)?)+', reason: nested, why: 'an optional group holding a quantifier, repeated'},
	{source: '(a+)?a+', reason: polynomial, why: 'read with the optional group taken, it is a+a+', risk: 'polynomial'},
	{source: '[a-z]+(\\.?[a-z]+)?', reason: polynomial, why: 'the optional dot inside the group fixes nothing', risk: 'polynomial'},
	{source: '(x|a+)a+', reason: polynomial, why: 'one alternative of a group matched once makes a+a+', risk: 'polynomial'},
	{source: '(\\w+\\s?)+', reason: nested, why: 'the shape of the classic e-mail ReDoS', risk: 'exponential'},
	{source: '(a?a?)+', reason: nested, why: 'optional parts inside a repeated group (it took 24 s on 21 characters when it was allowed)', risk: 'exponential'},
	{source: '(x\\(?)+', reason: nested, why: 'a ? after an escaped parenthesis still quantifies'},
	{source: '(a|aa)+', reason: alternation, why: 'two ways to match "aa", tried again at each repetition', risk: 'exponential'},
	{source: '(a|a)*', reason: alternation, why: 'the same alternative twice ((a|a)+ took 3.8 s on 25 characters when it was allowed)', risk: 'exponential'},
	{source: '((a|aa))+', reason: alternation, why: 'an alternation one group further in'},
	{source: '(foo|bar){1,50}', reason: alternation, why: 'a bounded but large repetition'},
	{source: 'a*a*', reason: polynomial, why: 'two repeats of the same character', risk: 'polynomial'},
	{source: '.*.*.*x', reason: polynomial, why: 'three (it took 3 s on 2,000 characters when it was allowed, and grows with the cube)', risk: 'polynomial'},
	{source: '.*x.*', reason: polynomial, why: 'x does not fix where the first .* ends: .* can take x too', risk: 'polynomial'},
	{source: '\\w+\\s?\\w+', reason: polynomial, why: 'an optional character between two repeats fixes nothing', risk: 'polynomial'},
	{source: '[a-z]+[a-z0-9]+', reason: polynomial, why: 'two overlapping classes side by side', risk: 'polynomial'},
	{source: 'a+b*a+', reason: polynomial, why: 'a repeat between them can be empty', risk: 'polynomial'},
	{source: '(?:a+)x?a+', reason: polynomial, why: 'a group does not hide a repeat', risk: 'polynomial'},
	{source: '[a-z]+\\.?[a-z.]+', reason: polynomial, why: 'the second repeat can take the dot the first stops at, and the dot is optional', risk: 'polynomial'},
	{source: 'a+a{0,300}', reason: polynomial, why: 'a bound wider than the choice limit counts as unbounded'},
	{source: '(ab)*x[a-z]+', reason: polynomial, why: 'conservative: a repeated group is assumed to take any character, so x does not separate'},
	{source: '.{0,9}.{0,9}.{0,9}x', reason: choices, why: '1,000 ways to split before x'},
	{source: 'a?b?c?d?e?f?g?h?i?', reason: choices, why: 'nine options: 512 ways'},
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
	{source: '[a-z]+@[a-z]+\\.[a-z]+', matches: ['ops@example.org'], rejects: ['ops@example', '@example.org']},
	{source: '\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}', matches: ['10.0.0.1'], rejects: ['10.0.0', '1000.0.0.1']},
	{source: 'a+x[ax]+', matches: ['axx', 'aaxaxa'], rejects: ['ax', 'xa']},
	{source: '[a-z]+(\\.[a-z]+)?', matches: ['example', 'example.org'], rejects: ['example.', '.org', 'a.b.c']},
	{source: '(a+)?', matches: ['', 'aaa'], rejects: ['b']},
	{source: '(a+)x(a+)', matches: ['axa', 'aaxaaa'], rejects: ['xa', 'ax']},
	{source: '[a-z]+(\\.log)?', matches: ['nginx', 'nginx.log'], rejects: ['nginx.', 'nginx.lo']},
	{source: `[a-z]{1,${maxChoices}}`, matches: ['a', 'z'.repeat(maxChoices)], rejects: ['', 'z'.repeat(maxChoices + 1)]},
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


for (const row of refusals.filter(row => row.risk !== undefined)) {
	test(`recheck finds ${JSON.stringify(row.source)} ${row.risk} when anchored as the guard would run it`, async t => {
		t.is(await complexity(new RegExp(`^(?:${row.source})$`, 'u')), row.risk!);
	});
}

test('recheck proves every accepted pattern of the table linear', async t => {
	const found = [];
	for (const row of accepted) {
		const compiled = compileGuardedPattern(row.source);
		found.push({source: row.source, complexity: compiled.ok ? await complexity(compiled.pattern) : compiled.reason});
	}

	t.deepEqual(found, accepted.map(row => ({source: row.source, complexity: 'linear'})));
});

/**
 * Every pattern written with up to three of these pieces, and every 5th one with four (in a fixed
 * order), that compiles: each one the guard accepts must be proven linear. The counts show the
 * corpus reaches each rule.
 */
test('recheck proves every accepted pattern of a generated corpus linear', async t => {
	const pieces = ['a', 'x', '.', '\\s', '[ax]', '(', '(?:', ')', ')+', ')?', '|', '*', '+', '?', '{0,3}', '{2,}'];
	const corpus: string[] = [];
	let layer = [''];
	for (let length = 1; length <= 4; length++) {
		layer = layer.flatMap(prefix => pieces.map(piece => prefix + piece));
		corpus.push(...layer.filter((_, index) => length < 4 || index % 5 === 0));
	}

	const refusedFor = new Map<string, number>();
	const notLinear: string[] = [];
	let accepted = 0;
	for (const source of corpus) {
		try {
			new RegExp(source, 'u');
		} catch {
			continue;
		}

		const compiled = compileGuardedPattern(source);
		if (!compiled.ok) {
			refusedFor.set(compiled.reason, (refusedFor.get(compiled.reason) ?? 0) + 1);
			continue;
		}

		accepted++;
		const found = await complexity(compiled.pattern);
		if (found !== 'linear') {
			notLinear.push(`${source}: ${found}`);
		}
	}

	t.deepEqual(notLinear, []);
	t.true(accepted > 1000, `${accepted} accepted`);
	t.deepEqual([...refusedFor.keys()].sort(), [alternation, nested, polynomial].sort(), 'the corpus reaches each structural rule (the choice limit is in the table: recheck unrolls wide bounds slowly)');
});
