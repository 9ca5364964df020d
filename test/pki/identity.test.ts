import test from 'ava';
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
