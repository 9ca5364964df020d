import test from 'ava';
import {defaultTimeoutSeconds, parseAllowlist} from '../../agent/allowlist.js';

const shape = 'expected {"scripts": {NAME: {path, description, ...}}}';
const entry = {path: '/usr/local/bin/uptime', description: 'Load and uptime'};

const refusals: Array<{title: string; value: unknown; problems: string[]}> = [
	{title: 'null', value: null, problems: [shape]},
	{title: 'a string', value: 'scripts', problems: [shape]},
	{title: 'no scripts', value: {}, problems: [shape]},
	{title: 'scripts null', value: {scripts: null}, problems: [shape]},
	{title: 'scripts as an array', value: {scripts: [entry]}, problems: [shape]},
	{title: 'an upper-case name', value: {scripts: {Uptime: entry}}, problems: ['script name "Uptime" must match [a-z0-9][a-z0-9._-]*']},
	{title: 'a path-like name', value: {scripts: {'../bin/sh': entry}}, problems: ['script name "../bin/sh" must match [a-z0-9][a-z0-9._-]*']},
	{title: 'a __proto__ name', value: JSON.parse('{"scripts":{"__proto__":{"path":"/bin/sh"}}}'), problems: ['script name "__proto__" must match [a-z0-9][a-z0-9._-]*']},
	{title: 'a null entry', value: {scripts: {uptime: null}}, problems: ['uptime: "path" must be an absolute path']},
	{title: 'a missing path', value: {scripts: {uptime: {description: 'x'}}}, problems: ['uptime: "path" must be an absolute path']},
	{title: 'a relative path', value: {scripts: {uptime: {path: 'bin/uptime'}}}, problems: ['uptime: "path" must be an absolute path']},
	{title: 'a path resolved from the working directory', value: {scripts: {uptime: {path: './uptime'}}}, problems: ['uptime: "path" must be an absolute path']},
	{title: 'a timeout of zero', value: {scripts: {uptime: {...entry, timeoutSeconds: 0}}}, problems: ['uptime: "timeoutSeconds" must be an integer from 1 to 86400']},
	{title: 'a timeout over a day', value: {scripts: {uptime: {...entry, timeoutSeconds: 86_401}}}, problems: ['uptime: "timeoutSeconds" must be an integer from 1 to 86400']},
	{title: 'a fractional timeout', value: {scripts: {uptime: {...entry, timeoutSeconds: 1.5}}}, problems: ['uptime: "timeoutSeconds" must be an integer from 1 to 86400']},
	{title: 'a timeout as a string', value: {scripts: {uptime: {...entry, timeoutSeconds: '30'}}}, problems: ['uptime: "timeoutSeconds" must be an integer from 1 to 86400']},
	{title: 'maxTargets of zero', value: {scripts: {uptime: {...entry, maxTargets: 0}}}, problems: ['uptime: "maxTargets" must be a positive integer']},
	{title: 'maxTargets as a string', value: {scripts: {uptime: {...entry, maxTargets: '2'}}}, problems: ['uptime: "maxTargets" must be a positive integer']},
	{title: 'runAs as a number', value: {scripts: {uptime: {...entry, runAs: 1000}}}, problems: ['uptime: "runAs" must be a user name']},
	{title: 'runAs as a list', value: {scripts: {uptime: {...entry, runAs: ['nobody']}}}, problems: ['uptime: "runAs" must be a user name']},
	{title: 'runAs empty', value: {scripts: {uptime: {...entry, runAs: ''}}}, problems: ['uptime: "runAs" must be a user name']},
	{
		title: 'several bad entries, reported all at once, good ones ignored',
		value: {scripts: {'Bad Name': entry, uptime: entry, disk: {path: 'df'}, restart: {...entry, timeoutSeconds: -1}}},
		problems: ['script name "Bad Name" must match [a-z0-9][a-z0-9._-]*', 'disk: "path" must be an absolute path', 'restart: "timeoutSeconds" must be an integer from 1 to 86400'],
	},
];

for (const c of refusals) {
	test(`parseAllowlist refuses ${c.title}`, t => {
		t.deepEqual(parseAllowlist(c.value), {ok: false, problems: c.problems});
	});
}

test('parseAllowlist keeps every field of a full entry', t => {
	const full = {path: '/opt/ops/restart', description: 'Restart the app', args: {type: 'array', maxItems: 1}, timeoutSeconds: 120, runAs: 'ops', maxTargets: 3, confirm: true, readOnly: true};
	const parsed = parseAllowlist({scripts: {restart: full}});
	t.true(parsed.ok);
	t.deepEqual(parsed.ok && {...parsed.allowlist.scripts}, {restart: full});
});

test('parseAllowlist fills defaults and drops what it does not know', t => {
	const parsed = parseAllowlist({scripts: {uptime: {path: '/usr/bin/uptime', description: 7, confirm: 'yes', readOnly: 'yes', shell: true}}});
	t.deepEqual(parsed.ok && {...parsed.allowlist.scripts}, {uptime: {path: '/usr/bin/uptime', description: '', timeoutSeconds: defaultTimeoutSeconds}});
});

test('parseAllowlist returns a table without a prototype', t => {
	const parsed = parseAllowlist({scripts: {}});
	t.true(parsed.ok);
	t.is(parsed.ok && Object.getPrototypeOf(parsed.allowlist.scripts), null);
	t.false(parsed.ok && 'constructor' in parsed.allowlist.scripts);
});
