import test from 'ava';
import {expandSelectorArguments, filterBySelector, matchesSelector, parseSelector, resolveSelection, selectAgents, selectorFileValues, selectorLimits, type Selector} from '../../source/policy/selector.js';
import {foldNames} from '../../source/run/group-output.js';

type Agent = {name: string; tags: Record<string, string>};

const pad = (n: number) => String(n).padStart(2, '0');
const fleet: Agent[] = [
	...Array.from({length: 12}, (_, i) => ({name: `web${pad(i + 1)}`, tags: {env: i < 8 ? 'production' : 'staging', role: 'web', site: i % 2 === 0 ? 'lon1' : 'par2'}})),
	{name: 'db1', tags: {env: 'production', role: 'db', site: 'lon1'}},
	{name: 'db2', tags: {env: 'production', role: 'db', site: 'par2'}},
	{name: 'db3', tags: {env: 'staging', role: 'db', site: 'lon1'}},
	{name: 'r1n1', tags: {rack: 'r1'}},
	{name: 'r1n2', tags: {rack: 'r1'}},
	{name: 'r2n1', tags: {rack: 'r2'}},
	{name: 'bare', tags: {}},
];

function selector(...values: string[]): Selector {
	const parsed = parseSelector(values);
	if (!parsed.ok) {
		throw new Error(parsed.reason);
	}

	return parsed.selector;
}

const names = (agents: readonly Agent[]) => agents.map(agent => agent.name);
const webs = (...numbers: number[]) => numbers.map(n => `web${pad(n)}`);

/** What each selection picks from the fleet above (in the fleet's order). */
const selections: Array<{on: string[]; picks: string[]}> = [
	{on: ['all'], picks: names(fleet)},
	{on: ['db2'], picks: ['db2']},
	{on: ['db2,db1'], picks: ['db1', 'db2']},
	{on: ['web[01-03]'], picks: webs(1, 2, 3)},
	{on: ['web[01-03,07,10-11]'], picks: webs(1, 2, 3, 7, 10, 11)},
	{on: ['web[1-3]'], picks: []},
	{on: ['web[08-12],db[1-2]'], picks: [...webs(8, 9, 10, 11, 12), 'db1', 'db2']},
	{on: ['r[1-2]n[1-2]'], picks: ['r1n1', 'r1n2', 'r2n1']},
	{on: ['web0[1-2]'], picks: webs(1, 2)},
	{on: ['web*'], picks: webs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)},
	{on: ['*1'], picks: [...webs(1, 11), 'db1', 'r1n1', 'r2n1']},
	{on: ['r*n2'], picks: ['r1n2']},
	{on: ['role=db'], picks: ['db1', 'db2', 'db3']},
	{on: ['env=production,role=db'], picks: ['db1', 'db2']},
	{on: ['env=prod*'], picks: [...webs(1, 2, 3, 4, 5, 6, 7, 8), 'db1', 'db2']},
	{on: ['env=prod'], picks: []},
	{on: ['site=*2,role=db'], picks: ['db2']},
	{on: ['rack=*'], picks: ['r1n1', 'r1n2', 'r2n1']},
	{on: ['role=db', 'rack=r2'], picks: ['db1', 'db2', 'db3', 'r2n1']},
	{on: ['role=web', '!web07'], picks: webs(1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12)},
	{on: ['role=web', '!env=staging', '!web0[1-3]'], picks: webs(4, 5, 6, 7, 8)},
	{on: ['all', '!role=*'], picks: ['r1n1', 'r1n2', 'r2n1', 'bare']},
	{on: ['!db1', 'role=db'], picks: ['db2', 'db3']},
	{on: ['db1', '!db1'], picks: []},
	{on: ['env=PRODUCTION'], picks: []},
	{on: ['constructor=*'], picks: []},
];

for (const c of selections) {
	test(`--on ${c.on.join(' --on ')} picks ${c.picks.length} agents`, t => {
		t.deepEqual(names(selectAgents(selector(...c.on), fleet)), c.picks);
	});
}

/** Refusals, each naming the value and the 1-based position of what is wrong. */
const refusals: Array<{on: string[]; reason: string}> = [
	{on: [], reason: 'no target given: pass --on with an agent name, key=value tags, or all'},
	{on: [''], reason: 'selector "" is empty: give an agent name, key=value tags, or all'},
	{on: ['Web1'], reason: 'selector "Web1", at position 1: agent names are lower-case: "W" cannot match'},
	{on: ['web_1'], reason: 'selector "web_1", at position 4: "_" cannot appear in an agent name (a-z 0-9 . - and * to match any run)'},
	{on: ['web1\u001B[2J'], reason: 'selector "web1\\u001b[2J" contains a control character'},
	{on: ['web1', 'env=prod', 'ALL'], reason: 'selector "ALL", at position 1: agent names are lower-case: "A" cannot match'},
	{on: ['web[5-3]'], reason: 'selector "web[5-3]", at position 5: the range 5-3 runs downwards; write 3-5'},
	{on: ['web[1-3,9-7]'], reason: 'selector "web[1-3,9-7]", at position 9: the range 9-7 runs downwards; write 7-9'},
	{on: ['web[1-]'], reason: 'selector "web[1-]", at position 5: "1-" is not a number or a range N-M'},
	{on: ['web[a-c]'], reason: 'selector "web[a-c]", at position 5: "a-c" is not a number or a range N-M'},
	{on: ['web[]'], reason: 'selector "web[]", at position 4: empty brackets: put numbers or ranges in them, as in [1-3]'},
	{on: ['web[1,,2]'], reason: 'selector "web[1,,2]", at position 7: an empty range (two commas in a row, or a comma at an end)'},
	{on: ['web[1-3'], reason: 'selector "web[1-3", at position 4: this "[" is never closed'},
	{on: ['web1-3]'], reason: 'selector "web1-3]", at position 7: a "]" with no "[" before it'},
	{on: ['web[1-[2-3]]'], reason: 'selector "web[1-[2-3]]", at position 7: a "[" inside brackets: ranges do not nest; list them with commas, as in [1-3,7]'},
	{on: ['web[1-010]'], reason: 'selector "web[1-010]", at position 5: the ends of 1-010 have different widths; pad both (010) or neither'},
	{on: ['web1,,web2'], reason: 'selector "web1,,web2", at position 6: an empty item (two commas in a row, or a comma at an end)'},
	{on: ['env=prod,'], reason: 'selector "env=prod,", at position 10: an empty item (two commas in a row, or a comma at an end)'},
	{on: ['env=prod,web1'], reason: 'selector "env=prod,web1", at position 10: "web1" is a name among tag terms; give names and tags as separate --on values (either matches)'},
	{on: ['env=pro d'], reason: 'selector "env=pro d", at position 8: " " cannot appear in a tag value (A-Z a-z 0-9 . _ : / @ + - and * to match any run)'},
	{on: ['env='], reason: 'selector "env=", at position 5: tag value "" must have 1 to 128 characters'},
	{on: ['Env=prod'], reason: 'selector "Env=prod", at position 1: tag key "Env" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{on: ['all,web1'], reason: 'selector "all,web1", at position 1: "all" stands alone, not in a list'},
	{on: ['-web1'], reason: 'selector "-web1", at position 1: "-web1" is not an agent name (it starts with a letter or digit and has at most 63 characters)'},
	{on: ['!'], reason: 'selector "!", at position 2: "!" needs a selector after it, as in !web07'},
	{on: ['!!web1'], reason: 'selector "!!web1", at position 2: "!" cannot appear in an agent name (a-z 0-9 . - and * to match any run)'},
	{on: ['!web07'], reason: '"!web07" only removes agents: say which to start from, for example --on all --on "!web07"'},
	{on: ['n[0-99999]x[0-9]'], reason: 'selector "n[0-99999]x[0-9]", at position 12: this range makes more than 100000 names'},
	{on: [`w${'1'.repeat(5000)}`], reason: 'a selector of 5001 characters is longer than 4096; put the names in a file and pass --on @FILE'},
];

for (const c of refusals) {
	test(`parseSelector refuses ${JSON.stringify(c.on).slice(0, 60)}`, t => {
		t.deepEqual(parseSelector(c.on), {ok: false, reason: c.reason});
	});
}

test('the table has at least 40 rows', t => {
	t.true(selections.length + refusals.length >= 40);
});

test('a leading zero sets the width; without one, numbers are as written', t => {
	const expanded = (value: string) => {
		const {clauses: [clause]} = selector(value);
		return clause!.body.kind === 'names' ? [...clause!.body.names] : [];
	};

	t.deepEqual(expanded('n[8-11]'), ['n8', 'n9', 'n10', 'n11']);
	t.deepEqual(expanded('n[08-11]'), ['n08', 'n09', 'n10', 'n11']);
	t.deepEqual(expanded('n[098-101]'), ['n098', 'n099', 'n100', 'n101']);
	t.deepEqual(expanded('n[01-100]').slice(-3), ['n98', 'n99', 'n100']);
	t.deepEqual(expanded('a[1-2]b[07,9]'), ['a1b07', 'a1b9', 'a2b07', 'a2b9']);
});

test('a range of 300 names selects 300 agents', t => {
	const big = Array.from({length: 320}, (_, i) => ({name: `node${String(i + 1).padStart(3, '0')}`, tags: {}}));
	const picked = selectAgents(selector('node[001-300]'), big);
	t.is(picked.length, 300);
	t.is(picked[0]!.name, 'node001');
	t.is(picked[299]!.name, 'node300');
	t.is(foldNames(names(picked)), 'node[001-300]');
});

/** Sets of names, folded the way --group prints them, parse back to the same set. */
test('every fold --group prints parses back to the names it folded', t => {
	let seed = 7;
	const random = (n: number) => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return seed % n;
	};

	const prefixes = ['web', 'db-', 'r1n', 'lon.edge', 'x'];
	for (let round = 0; round < 300; round++) {
		const set = new Set<string>();
		const size = 1 + random(40);
		for (let i = 0; i < size; i++) {
			const number = random(130);
			const width = random(3) === 0 ? 3 : 1;
			set.add(random(9) === 0 ? `plain${'abc'[random(3)]!}` : `${prefixes[random(prefixes.length)]!}${String(number).padStart(width, '0')}`);
		}

		const folded = foldNames([...set]);
		const parsed = parseSelector([folded]);
		if (!parsed.ok) {
			t.fail(`${folded}: ${parsed.reason}`);
			return;
		}

		const [clause] = parsed.selector.clauses;
		t.deepEqual(clause!.body.kind === 'names' ? [...clause!.body.names].sort() : [], [...set].sort(), folded);
	}
});

test('exclusions only remove: an agent must be included first', t => {
	t.true(matchesSelector(selector('db1', '!db2'), fleet[12]!));
	t.false(matchesSelector(selector('all', '!db*'), fleet[12]!));
});

test('matchesSelector checks own tags only, never inherited properties', t => {
	const tags = Object.create({env: 'prod'}) as Record<string, string>;
	t.false(matchesSelector(selector('env=prod'), {name: 'sneaky', tags}));
	t.false(matchesSelector(selector('env=*'), {name: 'sneaky', tags}));
	t.true(matchesSelector(selector('env=prod'), {name: 'plain', tags: {env: 'prod'}}));
});

test('resolveSelection reports unregistered names and exclusions that removed nothing', t => {
	const selection = resolveSelection(selector('web[11-14]', '!db1', '!web99', '!web12'), fleet);
	t.deepEqual(names(selection.agents), webs(11));
	t.deepEqual(selection.unknownNames, ['web13', 'web14']);
	t.deepEqual(selection.emptyExclusions, ['!web99']);
	t.deepEqual(selection.idleExclusions, ['!db1']);
});

test('selector files: one clause a line or word, # comments, blank lines skipped', t => {
	t.deepEqual(selectorFileValues('# incident 42\nweb01  # the first\n\n  web[02-03] db1\r\n!web02\n', 'hosts.txt'), [
		{value: 'web01', where: 'hosts.txt line 2'},
		{value: 'web[02-03]', where: 'hosts.txt line 4'},
		{value: 'db1', where: 'hosts.txt line 4'},
		{value: '!web02', where: 'hosts.txt line 5'},
	]);
});

const files: Record<string, string> = {'hosts.txt': 'web01\nweb[02-04] # rack 1\n', 'bad.txt': 'web01\n\nweb[3-1]\n', '-': 'db1\n!db2\n', 'nested.txt': '@hosts.txt\n', 'empty.txt': '# nothing\n', 'bang.txt': '!web01\n'};
const read = (source: string) => {
	if (!Object.hasOwn(files, source)) {
		throw new Error(`no file ${source}`);
	}

	return files[source]!;
};

const expansions: Array<{on: string[]; exclude?: string[]; result: ReturnType<typeof expandSelectorArguments>}> = [
	{on: ['@hosts.txt', 'db1'], exclude: ['web03'], result: {ok: true, values: ['web01', 'web[02-04]', 'db1', '!web03']}},
	{on: ['-'], result: {ok: true, values: ['db1', '!db2']}},
	{on: ['all'], exclude: ['@hosts.txt'], result: {ok: true, values: ['all', '!web01', '!web[02-04]']}},
	{on: ['@bad.txt'], result: {ok: false, reason: 'bad.txt line 3: selector "web[3-1]", at position 5: the range 3-1 runs downwards; write 1-3'}},
	{on: ['@nested.txt'], result: {ok: false, reason: 'nested.txt line 1: "@hosts.txt": a selector file cannot name another file or standard input'}},
	{on: ['@empty.txt'], result: {ok: false, reason: 'empty.txt has no selector in it (only blank lines or # comments)'}},
	{on: ['all'], exclude: ['@bang.txt'], result: {ok: false, reason: 'bang.txt line 1: "!web01": --exclude already removes; drop the "!"'}},
	{on: ['all'], exclude: ['!web01'], result: {ok: false, reason: '--exclude: "!web01": --exclude already removes; drop the "!"'}},
	{on: ['-'], exclude: ['-'], result: {ok: false, reason: 'standard input can be read once: give "-" to one --on or --exclude'}},
	{on: ['@'], result: {ok: false, reason: '--on @: give the file after "@", as in --on @hosts.txt'}},
	{on: ['web[1-'], result: {ok: false, reason: '--on: selector "web[1-", at position 4: this "[" is never closed'}},
	{on: ['all'], exclude: ['web[1-'], result: {ok: false, reason: '--exclude: selector "!web[1-", at position 5: this "[" is never closed'}},
];

for (const c of expansions) {
	test(`expandSelectorArguments --on ${c.on.join(' ')}${c.exclude ? ` --exclude ${c.exclude.join(' ')}` : ''}`, t => {
		t.deepEqual(expandSelectorArguments({on: c.on, exclude: c.exclude ?? []}, read), c.result);
	});
}

test('the console filter: the same grammar, whitespace between clauses, empty selects all', t => {
	t.deepEqual(filterBySelector('', fleet), {ok: true, agents: fleet});
	t.deepEqual(filterBySelector('  role=db  ', fleet), {ok: true, agents: fleet.filter(agent => agent.tags['role'] === 'db')});
	t.deepEqual(names((filterBySelector('!web* !r*', fleet) as {agents: Agent[]}).agents), ['db1', 'db2', 'db3', 'bare']);
	t.deepEqual(filterBySelector('web[1-', fleet), {ok: false, reason: 'selector "web[1-", at position 4: this "[" is never closed'});
});

test('the limits are what the README says', t => {
	t.deepEqual(selectorLimits, {values: 1024, valueChars: 4096, names: 100_000});
	t.false(parseSelector(Array.from({length: 1025}, () => 'all')).ok);
});
