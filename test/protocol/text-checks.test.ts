import test from 'ava';
import {hasControl, hasNul, isAgentName, isScriptName} from '../../source/protocol/text-checks.js';

const scriptNames: Array<[string, boolean]> = [
	['uptime', true],
	['restart-nginx', true],
	['db.backup_2', true],
	['0day', true],
	['a'.repeat(64), true],
	['a'.repeat(65), false],
	['', false],
	['Uptime', false],
	['-rf', false],
	['.hidden', false],
	['../etc/passwd', false],
	['/usr/bin/id', false],
	['up time', false],
	['uptime\n', false],
	['uptime\u0000', false],
	['üptime', false],
];

for (const [name, expected] of scriptNames) {
	test(`isScriptName(${JSON.stringify(name)}) is ${String(expected)}`, t => {
		t.is(isScriptName(name), expected);
	});
}

const agentNames: Array<[string, boolean]> = [
	['web1', true],
	['db-2.paris', true],
	['all', false],
	['web_1', false],
	['Web1', false],
	['-web', false],
	['a'.repeat(64), false],
	['a'.repeat(63), true],
];

for (const [name, expected] of agentNames) {
	test(`isAgentName(${JSON.stringify(name)}) is ${String(expected)}`, t => {
		t.is(isAgentName(name), expected);
	});
}

test('hasControl finds C0, DEL and C1 controls, and nothing else', t => {
	for (const character of ['\u0000', '\t', '\n', '\u001B', '\u007F', '\u0085', '\u009B']) {
		t.true(hasControl(`a${character}b`), JSON.stringify(character));
	}

	t.false(hasControl('plain text, é, ✓, \u00A0'));
});

test('hasNul finds a NUL anywhere', t => {
	t.true(hasNul('a\u0000'));
	t.false(hasNul('a\\0'));
});
