import test from 'ava';
import type {Runbook, Step} from '../../source/runbooks/model.js';
import {parseParameterWords, recordedParameters, resolveParameters} from '../../source/runbooks/parameters.js';
import {readRunbook} from '../../source/runbooks/read-runbook.js';
import {stepArgs, stepSelector} from '../../source/runbooks/substitute.js';
import {hashSecret} from '../../source/protocol/secret-args.js';

const read = readRunbook('deploy', `parameters:
  site: {schema: {type: string, enum: [london, paris]}, default: london}
  count: {schema: {type: integer, minimum: 1}}
  hosts: {schema: {type: array, items: {type: string}}, default: [web1]}
  password: {secret: true, description: the database password}
steps:
  - {name: a, script: s, on: all}
`, 'yaml');
if (!read.ok) {
	throw new Error(read.problems.join('\n'));
}

const runbook: Runbook = read.runbook;

const words: Array<{title: string; words: string[]; result: ReturnType<typeof parseParameterWords>}> = [
	{title: 'a string stays text', words: ['site=paris'], result: {ok: true, given: {site: 'paris'}}},
	{title: 'an integer is read as JSON', words: ['count=3'], result: {ok: true, given: {count: 3}}},
	{title: 'a list is read as JSON', words: ['hosts=["a","b"]'], result: {ok: true, given: {hosts: ['a', 'b']}}},
	{title: 'what is not JSON stays text (the schema then refuses it)', words: ['count=three'], result: {ok: true, given: {count: 'three'}}},
	{title: 'the value may hold =', words: ['password=a=b'], result: {ok: true, given: {password: 'a=b'}}},
	{title: 'malformed and repeated words, all named', words: ['site', '=x', 'count=1', 'count=2'], result: {ok: false, problems: ['--param "site" must be NAME=VALUE', '--param "=x" must be NAME=VALUE', '--param count is given twice; which one would win?']}},
];

for (const row of words) {
	test(`parseParameterWords: ${row.title}`, t => {
		const result = parseParameterWords(runbook, row.words);
		t.deepEqual(result.ok ? {ok: true, given: {...result.given}} : result, row.result);
	});
}

const values: Array<{title: string; given: Record<string, unknown>; result: ReturnType<typeof resolveParameters>}> = [
	{title: 'defaults fill the rest', given: {count: 2, password: 'pw'}, result: {ok: true, values: {site: 'london', count: 2, hosts: ['web1'], password: 'pw'}}},
	{
		title: 'every problem at once, a secret never shown',
		given: {site: 'rome', count: 0, password: 7, extra: 1},
		result: {ok: false, problems: [
			'parameter extra is not declared by runbook deploy (it takes site, count, hosts, password)',
			'parameter site: "rome" must be equal to one of the allowed values ("london", "paris")',
			'parameter count: 0 must be >= 1',
			'parameter password: the value given must be string',
		]},
	},
	{title: 'a parameter without a default must be given', given: {count: 1}, result: {ok: false, problems: ['parameter password has no default: give it with --param password=VALUE (the database password)']}},
];

for (const row of values) {
	test(`resolveParameters: ${row.title}`, t => {
		const result = resolveParameters(runbook, row.given);
		t.deepEqual(result.ok ? {ok: true, values: {...result.values}} : result, row.result);
	});
}

test('a record keeps a secret as its hash only', t => {
	t.deepEqual(recordedParameters(runbook, {site: 'paris', count: 1, hosts: [], password: 'hunter2'}), {site: 'paris', count: 1, hosts: [], password: hashSecret('hunter2')});
});

const base: Step = {name: 'st', script: 's', on: ['all'], args: [], rollout: {}, onFailure: {type: 'stop'}, when: 'previous.ok'};
const given = {site: 'paris', count: 3, flag: true, list: ['a', 'b'], glob: 'lon*', comma: 'a,b', object: {a: 1}, empty: [], pw: 'hunter2'};

const argRows: Array<{title: string; args: Step['args']; result: ReturnType<typeof stepArgs>}> = [
	{title: 'literals as text', args: ['--x', 3, false], result: {ok: true, value: {args: ['--x', '3', 'false'], secretPositions: []}}},
	{title: 'a parameter is one whole argument', args: ['--site', {param: 'site'}, {param: 'count'}, {param: 'flag'}], result: {ok: true, value: {args: ['--site', 'paris', '3', 'true'], secretPositions: []}}},
	{title: 'a list parameter gives one argument per item', args: [{param: 'list'}, 'end'], result: {ok: true, value: {args: ['a', 'b', 'end'], secretPositions: []}}},
	{title: 'a secret parameter\'s position is known', args: ['--password', {param: 'pw'}], result: {ok: true, value: {args: ['--password', 'hunter2'], secretPositions: [1]}}},
	{title: 'an object is no argument', args: [{param: 'object'}], result: {ok: false, problem: 'step st: args[0] takes {param: object}, whose value {"a":1} is not a string, number, boolean or a list of them'}},
];

for (const row of argRows) {
	test(`stepArgs: ${row.title}`, t => {
		t.deepEqual(stepArgs({...base, args: row.args}, given, new Set(['pw'])), row.result);
	});
}

const selectorRows: Array<{title: string; on: Array<string | {param: string} | {tags: Record<string, string | {param: string}>}>; result: ReturnType<typeof stepSelector>}> = [
	{title: 'literals as they are', on: ['web1', 'role=db,env=prod*'], result: {ok: true, value: ['web1', 'role=db,env=prod*']}},
	{title: 'a parameter is one whole selector value, a list several', on: [{param: 'site'}, {param: 'list'}], result: {ok: true, value: ['paris', 'a', 'b']}},
	{title: 'tags with a parameter value', on: [{tags: {role: 'web', site: {param: 'site'}}}], result: {ok: true, value: ['role=web,site=paris']}},
	{title: 'a glob cannot come in through a tag parameter', on: [{tags: {site: {param: 'glob'}}}], result: {ok: false, problem: 'step st: on: tags.site takes {param: glob}, whose value "lon*" is not a tag value (^[A-Za-z0-9._:/@+-]{1,128}$: no glob, comma or =)'}},
	{title: 'nor a second term', on: [{tags: {site: {param: 'comma'}}}], result: {ok: false, problem: 'step st: on: tags.site takes {param: comma}, whose value "a,b" is not a tag value (^[A-Za-z0-9._:/@+-]{1,128}$: no glob, comma or =)'}},
	{title: 'an empty list selects nothing', on: [{param: 'empty'}], result: {ok: false, problem: 'step st: on takes {param: empty}, whose value [] is not a selector (a non-empty string) or a list of them'}},
	{title: 'a number is no selector', on: [{param: 'count'}], result: {ok: false, problem: 'step st: on takes {param: count}, whose value 3 is not a selector (a non-empty string) or a list of them'}},
];

for (const row of selectorRows) {
	test(`stepSelector: ${row.title}`, t => {
		t.deepEqual(stepSelector({...base, on: row.on}, given), row.result);
	});
}
