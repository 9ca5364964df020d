/**
 * The controller's cache of agent descriptions (run/description-cache.ts): only what an agent that
 * checks planned entries said is kept, for its certificate and the way it was reached then (its
 * address over direct TLS, its relay's URL over the relay, both for transport both); a re-paired or
 * moved agent, one whose transport changed, an older agent or one that did not answer is not
 * planned from it.
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
	t.is(cachedEntry(cache, {...web1, transport: 'both', relay: 'nats://127.0.0.1:4222'}, 'uptime'), undefined, 'now reached over the relay too');
	t.is(cachedEntry(cache, {...web1, name: 'web2'}, 'uptime'), undefined);
	t.is(cachedEntry(cache, {...web1, name: '__proto__'}, 'uptime'), undefined);
});

const notKept: Array<[string, Discovered]> = [
	['an agent that does not check planned entries (before checksEntry)', {...answered, checksEntry: undefined} as unknown as Discovered],
	['an answer that does not say which link carried it', {...answered, via: undefined} as unknown as Discovered],
	['an agent that did not answer', {name: 'web1', address: web1.address, status: 'unreachable', reason: 'refused', scripts: []}],
];

for (const [title, answer] of notKept) {
	test(`not cached, and an earlier answer forgotten: ${title}`, t => {
		const before = rememberDescriptions(emptyDescriptionCache, [answered], [web1], at);
		t.is(cachedEntry(rememberDescriptions(before, [answer], [web1], at), web1, 'uptime'), undefined);
	});
}

const relayed = {name: 'db1', serial: 'cc03', address: 'db1.example:7001', transport: 'nats' as const, relay: 'nats://broker-a:4222'};
const both = {...relayed, name: 'db2', transport: 'both' as const};
const overRelay = (name: string): Discovered => ({name, address: relayed.address, status: 'reachable', scripts: [uptime], via: 'relay', checksEntry: true});

test('a relay agent is cached for its certificate and relay URL; an agent of transport both for its address and relay', t => {
	const cache = rememberDescriptions(emptyDescriptionCache, [overRelay('db1'), overRelay('db2')], [relayed, both], at);
	t.like(cache.agents['db1'], {serial: 'cc03', transport: 'nats', relay: 'nats://broker-a:4222'});
	t.deepEqual(cachedEntry(cache, relayed, 'uptime'), uptime);
	t.deepEqual(cachedEntry(cache, {...relayed, address: 'elsewhere:1'}, 'uptime'), uptime, 'a relay agent\'s address does not reach it');
	t.is(cachedEntry(cache, {...relayed, relay: 'nats://broker-b:4222'}, 'uptime'), undefined, 'another relay');
	t.is(cachedEntry(cache, {...relayed, serial: 'dd04'}, 'uptime'), undefined, 're-paired');
	t.is(cachedEntry(cache, {...relayed, transport: 'both'}, 'uptime'), undefined, 'now reached directly too');
	t.is(cachedEntry(cache, {name: 'db1', serial: 'cc03', address: relayed.address}, 'uptime'), undefined, 'now direct TLS');
	t.deepEqual(cachedEntry(cache, both, 'uptime'), uptime);
	t.is(cachedEntry(cache, {...both, address: 'elsewhere:1'}, 'uptime'), undefined, 'both: another address');
	t.is(cachedEntry(cache, {...both, relay: 'nats://broker-b:4222'}, 'uptime'), undefined, 'both: another relay');
	t.is(cachedEntry(cache, {...both, transport: 'nats'}, 'uptime'), undefined, 'both: now relay only');
	const {relay: _relay, ...noRelay} = relayed;
	t.is(cachedEntry(cache, noRelay, 'uptime'), undefined, 'a relay agent without a relay URL');
});

test('a relay agent that does not say checksEntry (older agents over the relay) is not cached', t => {
	const {checksEntry: _checks, ...older} = overRelay('db1');
	t.is(cachedEntry(rememberDescriptions(emptyDescriptionCache, [older], [relayed], at), relayed, 'uptime'), undefined);
});

test('forgetting several agents at once', t => {
	const cache = rememberDescriptions(emptyDescriptionCache, [answered, overRelay('db1'), overRelay('db2')], [web1, relayed, both], at);
	t.deepEqual(Object.keys(forgetDescription(cache, 'web1', 'db2').agents), ['db1']);
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
