import test from 'ava';
import type {AgentResult} from '../../source/run/events.js';
import {foldNames, groupResults} from '../../source/run/group-output.js';

function result(agent: string, stdout: string, fields: Partial<AgentResult> = {}): AgentResult {
	return {agent, status: 'ok', exitCode: 0, signal: null, stdout, stderr: '', truncated: false, durationMs: 10, ...fields};
}

test('10 hosts, 8 print the same line: one group of 8 first, then the odd ones out', t => {
	const results = [
		result('web03', '/dev/sda1 42%\n'),
		result('web01', '/dev/sda1 42%\n'),
		result('web02', '/dev/sda1 42%   \n\n'),
		result('web09', '/dev/sda1 97%\n', {status: 'failed', exitCode: 1}),
		result('web04', '/dev/sda1 42%\r\n'),
		result('web05', '/dev/sda1 42%'),
		result('web06', '/dev/sda1 42%\t\n'),
		result('web07', '/dev/sda1 42%\n'),
		result('web10', '/dev/sda1 42%\n', {status: 'failed', exitCode: 3}),
		result('web08', '/dev/sda1 42%\n'),
	];
	t.deepEqual(groupResults(results), [
		// Names in natural order, not the order the hosts finished in.
		{agents: ['web01', 'web02', 'web03', 'web04', 'web05', 'web06', 'web07', 'web08'], folded: 'web[01-08]', status: 'ok', exitCode: 0, stdout: '/dev/sda1 42%', stderr: ''},
		{agents: ['web09'], folded: 'web09', status: 'failed', exitCode: 1, stdout: '/dev/sda1 97%', stderr: ''},
		{agents: ['web10'], folded: 'web10', status: 'failed', exitCode: 3, stdout: '/dev/sda1 42%', stderr: ''},
	]);
});

test('the same output with different exit codes, statuses or stderr is not one group', t => {
	const groups = groupResults([
		result('a1', 'done\n'),
		result('a2', 'done\n', {exitCode: 2, status: 'failed'}),
		result('a3', 'done\n', {exitCode: null, status: 'timeout', signal: 'SIGKILL'}),
		result('a4', 'done\n', {exitCode: null, status: 'cancelled', signal: 'SIGTERM'}),
		result('a5', 'done\n', {stderr: 'warning: low memory\n'}),
		result('a6', 'done\n'),
	]);
	t.deepEqual(groups.map(group => [group.folded, group.status, group.exitCode, group.stderr]), [
		['a[1,6]', 'ok', 0, ''],
		['a2', 'failed', 2, ''],
		['a3', 'timeout', null, ''],
		['a4', 'cancelled', null, ''],
		['a5', 'ok', 0, 'warning: low memory'],
	]);
});

test('only trailing whitespace is normalised: leading spaces and inner blank lines still differ', t => {
	const groups = groupResults([
		result('h1', 'a\n\nb\n'),
		result('h2', 'a\nb\n'),
		result('h3', ' a\nb\n'),
		result('h4', 'a  \n\nb  \n\n\n'),
	]);
	t.deepEqual(groups.map(group => group.agents), [['h1', 'h4'], ['h2'], ['h3']]);
	t.is(groups[0]!.stdout, 'a\n\nb');
});

test('groups of equal size are ordered by their folded names', t => {
	const groups = groupResults([result('web2', 'b'), result('db1', 'a'), result('web1', 'b'), result('db2', 'a')]);
	t.deepEqual(groups.map(group => group.folded), ['db[1-2]', 'web[1-2]']);
});

test('no results, no groups', t => {
	t.deepEqual(groupResults([]), []);
});

const folds: Array<{title: string; names: string[]; folded: string}> = [
	{title: 'a range and a single number', names: ['web1', 'web2', 'web3', 'web4', 'web7'], folded: 'web[1-4,7]'},
	{title: 'any order in, sorted out', names: ['web7', 'web3', 'web1', 'web4', 'web2'], folded: 'web[1-4,7]'},
	{title: 'zero-padded names keep their padding', names: ['web01', 'web02'], folded: 'web[01-02]'},
	{title: 'a zero-padded range across a power of ten', names: ['web08', 'web09', 'web10', 'web11'], folded: 'web[08-11]'},
	{title: 'unpadded names across a power of ten join, as the selector reads them', names: ['web9', 'web10'], folded: 'web[9-10]'},
	{title: 'forty unpadded names are one range', names: Array.from({length: 40}, (_, index) => `web${index + 1}`), folded: 'web[1-40]'},
	{title: 'an unpadded range stops before a padded number', names: ['web9', 'web010'], folded: 'web[9,010]'},
	{title: 'an unpadded range grows in width', names: ['web98', 'web99', 'web100'], folded: 'web[98-100]'},
	{title: 'a padded range stops where the next number has another width', names: ['web098', 'web099', 'web0100'], folded: 'web[098-099,0100]'},
	{title: 'padded and unpadded forms of one number stay distinct', names: ['web1', 'web01'], folded: 'web[01,1]'},
	{title: 'the same names in another order fold the same', names: ['web01', 'web1'], folded: 'web[01,1]'},
	{title: 'mixed prefixes, with names without digits first', names: ['db2', 'web1', 'cache', 'db1', 'web2', 'web5'], folded: 'cache,db[1-2],web[1-2,5]'},
	{title: 'names without digits', names: ['gamma', 'alpha', 'beta'], folded: 'alpha,beta,gamma'},
	{title: 'a single host', names: ['web1'], folded: 'web1'},
	{title: 'one host per prefix', names: ['web1', 'db3'], folded: 'db3,web1'},
	{title: 'a name that is only digits is not folded', names: ['123', '124'], folded: '123,124'},
	{title: 'digits inside the prefix', names: ['rack1-web1', 'rack1-web2', 'rack2-web1'], folded: 'rack1-web[1-2],rack2-web1'},
	{title: 'a name with digits then a letter is not folded', names: ['web1a', 'web2a'], folded: 'web1a,web2a'},
	{title: 'no names', names: [], folded: ''},
];

for (const row of folds) {
	test(`foldNames: ${row.title}`, t => {
		t.is(foldNames(row.names), row.folded);
	});
}

test('a group lists its hosts in natural order: web2 before web10', t => {
	const groups = groupResults([result('web10', 'x\n'), result('web2', 'x\n'), result('db1', 'x\n'), result('web1', 'x\n')]);
	t.deepEqual(groups[0]?.agents, ['db1', 'web1', 'web2', 'web10']);
});
