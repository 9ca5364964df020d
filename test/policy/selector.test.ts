import test from 'ava';
import {matchesSelector, parseSelector, selectAgents, type Selector} from '../../source/policy/selector.js';

const refusals: Array<{title: string; values: string[]; reason: string}> = [
	{title: 'no value at all', values: [], reason: 'no target given: pass --on with an agent name, key=value tags, or all'},
	{title: 'an upper-case name', values: ['Web1'], reason: 'selector "Web1" is neither "all", an agent name, nor key=value tags'},
	{title: 'an empty value', values: [''], reason: 'selector "" is neither "all", an agent name, nor key=value tags'},
	{title: 'a glob', values: ['web*'], reason: 'selector "web*" is neither "all", an agent name, nor key=value tags'},
	{title: 'a control character', values: ['web1\u001B[2J'], reason: 'selector "web1\\u001b[2J" contains a control character'},
	{title: 'a bad clause after good ones', values: ['web1', 'env=prod', 'ALL'], reason: 'selector "ALL" is neither "all", an agent name, nor key=value tags'},
	{title: 'a trailing comma', values: ['env=prod,'], reason: 'in selector "env=prod,": tag "" must be key=value'},
	{title: 'a name mixed into tag terms', values: ['env=prod,web1'], reason: 'in selector "env=prod,web1": tag "web1" must be key=value'},
	{title: 'a bad tag value', values: ['env=pro d'], reason: 'in selector "env=pro d": tag value "pro d" must match ^[A-Za-z0-9._:/@+-]{1,128}$'},
];

for (const c of refusals) {
	test(`parseSelector refuses ${c.title}`, t => {
		t.deepEqual(parseSelector(c.values), {ok: false, reason: c.reason});
	});
}

test('parseSelector reads all, names and tag terms', t => {
	t.deepEqual(parseSelector(['all', 'web1', 'env=prod,role=web']), {
		ok: true,
		selector: {
			clauses: [{kind: 'all'}, {kind: 'name', name: 'web1'}, {kind: 'tags', tags: [['env', 'prod'], ['role', 'web']]}],
			source: ['all', 'web1', 'env=prod,role=web'],
		},
	});
});

function selector(...values: string[]): Selector {
	const parsed = parseSelector(values);
	if (!parsed.ok) {
		throw new Error(parsed.reason);
	}

	return parsed.selector;
}

const fleet: Array<{name: string; tags: Record<string, string>}> = [
	{name: 'db1', tags: {env: 'prod', role: 'db'}},
	{name: 'web1', tags: {env: 'prod', role: 'web'}},
	{name: 'web2', tags: {env: 'staging', role: 'web'}},
	{name: 'bare', tags: {}},
];

const selections: Array<{values: string[]; names: string[]}> = [
	{values: ['all'], names: ['db1', 'web1', 'web2', 'bare']},
	{values: ['web2'], names: ['web2']},
	{values: ['web3'], names: []},
	{values: ['role=web'], names: ['web1', 'web2']},
	{values: ['env=prod,role=web'], names: ['web1']},
	{values: ['env=prod,role=cache'], names: []},
	{values: ['role=db', 'env=staging'], names: ['db1', 'web2']},
	{values: ['web2', 'role=web'], names: ['web1', 'web2']},
	{values: ['env=PROD'], names: []},
	{values: ['constructor=Object'], names: []},
];

for (const c of selections) {
	test(`selectAgents with ${JSON.stringify(c.values)} picks ${JSON.stringify(c.names)}`, t => {
		t.deepEqual(selectAgents(selector(...c.values), fleet).map(agent => agent.name), c.names);
	});
}

test('matchesSelector checks own tags only, never inherited properties', t => {
	const tags = Object.create({env: 'prod'}) as Record<string, string>;
	t.false(matchesSelector(selector('env=prod'), {name: 'sneaky', tags}));
	t.true(matchesSelector(selector('env=prod'), {name: 'plain', tags: {env: 'prod'}}));
});
