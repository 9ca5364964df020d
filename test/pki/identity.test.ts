import test from 'ava';
import {sanUris} from '../../source/pki/certificate-facts.js';
import {identityUri, parseIdentityUri, sameIdentity, type Identity} from '../../source/pki/identity.js';

const uris: Array<[string, Identity | undefined]> = [
	['xi-exec:controller', {role: 'controller'}],
	['xi-exec:server', {role: 'server'}],
	['xi-exec:audit', {role: 'audit'}],
	['xi-exec:agent/web1', {role: 'agent', name: 'web1'}],
	['xi-exec:agent/db-2.paris', {role: 'agent', name: 'db-2.paris'}],
	['xi-exec:agent/all', undefined],
	['xi-exec:agent/', undefined],
	['xi-exec:agent/Web1', undefined],
	['xi-exec:agent/web1/extra', undefined],
	['xi-exec:agent/../controller', undefined],
	['xi-exec:controller ', undefined],
	['XI-EXEC:controller', undefined],
	['xi-exec://controller', undefined],
	['xi-exec:root', undefined],
	['https://xi-exec/controller', undefined],
	['', undefined],
];

for (const [uri, identity] of uris) {
	test(`parseIdentityUri(${JSON.stringify(uri)})`, t => {
		t.deepEqual(parseIdentityUri(uri), identity);
	});
}

test('identityUri writes what parseIdentityUri reads', t => {
	for (const identity of [{role: 'controller'}, {role: 'server'}, {role: 'audit'}, {role: 'agent', name: 'web1'}] satisfies Identity[]) {
		t.deepEqual(parseIdentityUri(identityUri(identity)), identity);
	}
});

test('sameIdentity compares role and name', t => {
	t.true(sameIdentity({role: 'agent', name: 'web1'}, {role: 'agent', name: 'web1'}));
	t.false(sameIdentity({role: 'agent', name: 'web1'}, {role: 'agent', name: 'web2'}));
	t.false(sameIdentity({role: 'controller'}, {role: 'server'}));
});

const sanRenderings: Array<{san: string | undefined; uris: string[] | undefined}> = [
	{san: undefined, uris: []},
	{san: 'URI:xi-exec:controller', uris: ['xi-exec:controller']},
	{san: 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:xi-exec:server', uris: ['xi-exec:server']},
	{san: 'URI:xi-exec:agent/a, URI:xi-exec:controller', uris: ['xi-exec:agent/a', 'xi-exec:controller']},
	// Node quotes a value holding a comma: it cannot smuggle in a second entry.
	{san: 'URI:"xi-exec:agent/x\\u002c URI:xi-exec:controller", DNS:"a\\"b", URI:xi-exec:audit', uris: ['xi-exec:agent/x, URI:xi-exec:controller', 'xi-exec:audit']},
	{san: 'URI:"unterminated', uris: undefined},
	{san: 'no colon here', uris: undefined},
	{san: 'URI:"a"garbage', uris: undefined},
];

for (const c of sanRenderings) {
	test(`sanUris(${JSON.stringify(c.san)})`, t => {
		t.deepEqual(sanUris(c.san), c.uris);
	});
}
