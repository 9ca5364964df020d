import test from 'ava';
import {applyTagChange, describeDrift, formatTags, parseTag, parseTagChange, sameTags} from '../../source/policy/tags.js';

const refusals: Array<{title: string; text: string; reason: string}> = [
	{title: 'a word without =', text: 'production', reason: 'tag "production" must be key=value'},
	{title: 'an empty key', text: '=prod', reason: 'tag key "" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{title: 'an upper-case key', text: 'Env=prod', reason: 'tag key "Env" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{title: 'a key starting with an underscore', text: '__proto__=x', reason: 'tag key "__proto__" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{title: 'an empty value', text: 'env=', reason: 'tag value "" must match ^[A-Za-z0-9._:/@+-]{1,128}$'},
	{title: 'a value with a space', text: 'env=pro d', reason: 'tag value "pro d" must match ^[A-Za-z0-9._:/@+-]{1,128}$'},
	{title: 'a value with a second =', text: 'a=b=c', reason: 'tag value "b=c" must match ^[A-Za-z0-9._:/@+-]{1,128}$'},
	{title: 'a value with a comma', text: 'env=a,b', reason: 'tag value "a,b" must match ^[A-Za-z0-9._:/@+-]{1,128}$'},
	{title: 'a value of 129 characters', text: `env=${'v'.repeat(129)}`, reason: `tag value "${'v'.repeat(129)}" must match ^[A-Za-z0-9._:/@+-]{1,128}$`},
	{title: 'an escape sequence', text: 'env=\u001B[31mred', reason: 'tag "env=\\u001b[31mred" contains a control character'},
	{title: 'a newline', text: 'env=prod\nrole=db', reason: 'tag "env=prod\\nrole=db" contains a control character'},
];

for (const c of refusals) {
	test(`parseTag refuses ${c.title}`, t => {
		t.deepEqual(parseTag(c.text), {ok: false, reason: c.reason});
	});
}

test('parseTag splits at the first =', t => {
	t.deepEqual(parseTag('env=production'), {ok: true, key: 'env', value: 'production'});
	t.deepEqual(parseTag('site.zone=eu-west/1:a@b+c'), {ok: true, key: 'site.zone', value: 'eu-west/1:a@b+c'});
});

test('formatTags sorts by key', t => {
	t.is(formatTags({role: 'web', env: 'prod', az: '1'}), 'az=1 env=prod role=web');
	t.is(formatTags({}), '');
});

const changeRefusals: Array<{title: string; words: string[]; mode: 'set' | 'unset'; reason: string}> = [
	{title: 'no words to set', words: [], mode: 'set', reason: 'give at least one key=value'},
	{title: 'no keys to remove', words: [], mode: 'unset', reason: 'give at least one tag key'},
	{title: 'every bad word at once', words: ['env=prod', 'Role=db', 'site'], mode: 'set', reason: 'tag key "Role" must match ^[a-z0-9][a-z0-9._-]{0,62}$; tag "site" must be key=value'},
	{title: 'a key set twice', words: ['env=prod', 'env=staging'], mode: 'set', reason: 'tag key "env" is given twice'},
	{title: 'key=value to untag', words: ['env=prod'], mode: 'unset', reason: '"env=prod" is key=value; untag takes only the key ("env")'},
	{title: 'a bad key to untag', words: ['__proto__'], mode: 'unset', reason: 'tag key "__proto__" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{title: 'an escape sequence to untag', words: ['env\u001B[31m'], mode: 'unset', reason: 'tag key "env\\u001b[31m" must match ^[a-z0-9][a-z0-9._-]{0,62}$'},
	{title: 'a key removed twice', words: ['env', 'env'], mode: 'unset', reason: 'tag key "env" is given twice'},
];

for (const c of changeRefusals) {
	test(`parseTagChange refuses ${c.title}`, t => {
		t.deepEqual(parseTagChange(c.words, c.mode), {ok: false, reason: c.reason});
	});
}

test('parseTagChange reads keys to set and keys to remove', t => {
	t.deepEqual(parseTagChange(['env=prod', 'constructor=x'], 'set'), {ok: true, change: {set: {env: 'prod', constructor: 'x'}, unset: []}});
	t.deepEqual(parseTagChange(['env', 'role'], 'unset'), {ok: true, change: {set: {}, unset: ['env', 'role']}});
});

test('applyTagChange sets, replaces and removes, sorted by key, and leaves the old tags alone', t => {
	const tags = {site: 'london', env: 'prod'};
	t.deepEqual(applyTagChange(tags, {set: {role: 'db', env: 'staging'}, unset: []}), {ok: true, tags: {env: 'staging', role: 'db', site: 'london'}});
	t.deepEqual(applyTagChange(tags, {set: {}, unset: ['site']}), {ok: true, tags: {env: 'prod'}});
	t.deepEqual(tags, {site: 'london', env: 'prod'});
});

test('applyTagChange refuses to remove a key that is not there, naming the tags there are', t => {
	t.deepEqual(applyTagChange({env: 'prod'}, {set: {}, unset: ['rol', 'env']}), {ok: false, reason: 'there is no tag "rol" to remove (the tags are: env=prod)'});
	t.deepEqual(applyTagChange({}, {set: {}, unset: ['env']}), {ok: false, reason: 'there is no tag "env" to remove (the tags are: none)'});
});

test('sameTags and describeDrift compare key for key', t => {
	t.true(sameTags({a: '1', b: '2'}, {b: '2', a: '1'}));
	t.false(sameTags({a: '1'}, {a: '1', b: '2'}));
	t.false(sameTags({a: '1'}, {a: '2'}));
	t.false(sameTags({constructor: 'x'}, {}));
	t.is(describeDrift({env: 'prod', site: 'berlin', role: 'db'}, {env: 'prod', site: 'paris', zone: 'a'}), 'no role (registry: db), site=paris (registry: berlin), zone=a (registry: none)');
	t.is(describeDrift({env: 'prod'}, {env: 'prod'}), '');
});
