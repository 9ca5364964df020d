import test from 'ava';
import {formatTags, parseTag} from '../../source/policy/tags.js';

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
