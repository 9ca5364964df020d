/**
 * The controller's cache of agent descriptions (run/description-cache.ts): only what an agent that
 * checks planned entries said over direct TLS is kept, for its certificate and address then; a
 * re-paired agent, a relay agent, an older agent or one that did not answer is not planned from it.
 */
import test from 'ava';
import type {Discovered} from '../../source/dispatch/discover.js';
import {cachedEntry, emptyDescriptionCache, forgetDescription, parseDescriptionCache, rememberDescriptions} from '../../source/run/description-cache.js';

const web1 = {name: 'web1', serial: 'aa01', address: '127.0.0.1:7001'};
const uptime = {name: 'uptime', description: 'load', timeoutSeconds: 30, digest: 'd'.repeat(64)};
const answered: Discovered = {name: 'web1', address: web1.address, status: 'reachable', scripts: [uptime], via: 'tls', checksEntry: true};
const at = '2026-01-15T12:00:00.000Z';

test('an answer is cached, and planned from for the same certificate and address only', t => {
	const cache = rememberDescriptions(emptyDescriptionCache, [answered], [web1], at);
	t.deepEqual(cachedEntry(cache, web1, 'uptime'), uptime);
	t.is(cachedEntry(cache, web1, 'df'), undefined, 'a script it did not describe');
	t.is(cachedEntry(cache, {...web1, serial: 'bb02'}, 'uptime'), undefined, 're-paired: another certificate');
	t.is(cachedEntry(cache, {...web1, address: '127.0.0.1:7002'}, 'uptime'), undefined, 'moved: another address');
	t.is(cachedEntry(cache, {...web1, transport: 'both'}, 'uptime'), undefined, 'now reached over the relay too');
	t.is(cachedEntry(cache, {...web1, name: 'web2'}, 'uptime'), undefined);
	t.is(cachedEntry(cache, {...web1, name: '__proto__'}, 'uptime'), undefined);
});

const notKept: Array<[string, Discovered]> = [
	['an agent that does not check planned entries (before checksEntry)', {...answered, checksEntry: undefined} as unknown as Discovered],
	['an answer over the relay', {...answered, via: 'relay'}],
	['an agent that did not answer', {name: 'web1', address: web1.address, status: 'unreachable', reason: 'refused', scripts: []}],
];

for (const [title, answer] of notKept) {
	test(`not cached, and an earlier answer forgotten: ${title}`, t => {
		const before = rememberDescriptions(emptyDescriptionCache, [answered], [web1], at);
		t.is(cachedEntry(rememberDescriptions(before, [answer], [web1], at), web1, 'uptime'), undefined);
	});
}

test('an agent of transport nats or both is not cached', t => {
	t.is(cachedEntry(rememberDescriptions(emptyDescriptionCache, [answered], [{...web1, transport: 'both'}], at), web1, 'uptime'), undefined);
});

test('forgetting one agent keeps the others', t => {
	const web2 = {...web1, name: 'web2'};
	const cache = rememberDescriptions(emptyDescriptionCache, [answered, {...answered, name: 'web2'}], [web1, web2], at);
	const after = forgetDescription(cache, 'web1');
	t.is(cachedEntry(after, web1, 'uptime'), undefined);
	t.deepEqual(cachedEntry(after, web2, 'uptime'), uptime);
});

test('a file that is not a cache reads as an empty one; malformed records are dropped', t => {
	for (const value of [null, 'x', [], {version: 2, agents: {}}, {version: 1}]) {
		t.deepEqual(parseDescriptionCache(value), emptyDescriptionCache, JSON.stringify(value));
	}

	const kept = rememberDescriptions(emptyDescriptionCache, [answered], [web1], at);
	const parsed = parseDescriptionCache({version: 1, agents: {...kept.agents, bad: {serial: 1}, worse: {serial: 'x', address: 'y', at, scripts: [{name: 3}]}}});
	t.deepEqual(parsed, kept);
});
