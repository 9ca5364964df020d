/** The lastSeen journal's pure half (registry/seen.ts): reading its lines and laying them over the registry. */
import test from 'ava';
import type {AgentRecord, Registry} from '../../source/registry/model.js';
import {overlaySeen, parseSeen, seenLine} from '../../source/registry/seen.js';

const pairedAt = '2026-01-15T12:00:00.000Z';
const record = (name: string, changes: Partial<AgentRecord> = {}): AgentRecord => ({name, address: '10.0.0.5:7441', tags: {}, serial: '1a', fingerprint: 'ab'.repeat(32), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt, ...changes});

test('a line is one JSON document and a newline', t => {
	t.is(seenLine(['web1', 'web2'], '2026-02-01T00:00:00.000Z'), '{"at":"2026-02-01T00:00:00.000Z","agents":["web1","web2"]}\n');
});

const journals: Array<{name: string; text: string; expected: Record<string, string>}> = [
	{name: 'empty', text: '', expected: {}},
	{name: 'the latest time wins, whatever the order of the lines', text: seenLine(['a', 'b'], '2026-02-01T00:00:02.000Z') + seenLine(['a'], '2026-02-01T00:00:01.000Z') + seenLine(['a'], '2026-02-01T00:00:03.000Z'), expected: {a: '2026-02-01T00:00:03.000Z', b: '2026-02-01T00:00:02.000Z'}},
	{name: 'a torn last line is skipped', text: seenLine(['a'], '2026-02-01T00:00:01.000Z') + '{"at":"2026-02-01T00:00:09.000Z","agents":["a', expected: {a: '2026-02-01T00:00:01.000Z'}},
	{name: 'a line appended after a torn one is kept', text: '{"at":"2026-02-01T00:00:09.000Z","agen' + seenLine(['b'], '2026-02-01T00:00:02.000Z'), expected: {b: '2026-02-01T00:00:02.000Z'}},
	{name: 'a time that is not a date is skipped', text: seenLine(['a'], 'yesterday') + seenLine(['b'], '2026-02-01T00:00:02.000Z'), expected: {b: '2026-02-01T00:00:02.000Z'}},
	{name: 'names that are not strings spoil their line only', text: '{"at":"2026-02-01T00:00:05.000Z","agents":["a",7]}\n' + seenLine(['a'], '2026-02-01T00:00:01.000Z'), expected: {a: '2026-02-01T00:00:01.000Z'}},
	{name: 'a line of another shape is skipped', text: '[1,2]\nnull\n{"at":"2026-02-01T00:00:05.000Z"}\n', expected: {}},
	{name: 'blank lines and a missing final newline do not matter', text: '\n\n' + seenLine(['a'], '2026-02-01T00:00:01.000Z').trim(), expected: {a: '2026-02-01T00:00:01.000Z'}},
];

for (const c of journals) {
	test(`parseSeen: ${c.name}`, t => {
		t.deepEqual(Object.fromEntries([...parseSeen(c.text)].map(([name, seen]) => [name, seen.at])), c.expected);
	});
}

test('overlaySeen: a later time replaces lastSeen, an earlier one does not, other agents are untouched', t => {
	const registry: Registry = {version: 1, agents: [record('a', {lastSeen: '2026-02-01T00:00:05.000Z'}), record('b', {lastSeen: '2026-02-01T00:00:05.000Z'}), record('c'), record('d')]};
	const seen = parseSeen(seenLine(['a', 'c'], '2026-02-01T00:00:09.000Z') + seenLine(['b'], '2026-02-01T00:00:01.000Z') + seenLine(['gone'], '2026-02-01T00:00:09.000Z'));
	const laid = overlaySeen(registry, seen);
	t.deepEqual(laid.agents.map(agent => [agent.name, agent.lastSeen]), [['a', '2026-02-01T00:00:09.000Z'], ['b', '2026-02-01T00:00:05.000Z'], ['c', '2026-02-01T00:00:09.000Z'], ['d', undefined]]);
	t.is(laid.agents.length, 4, 'a name not in the registry adds nothing');
	t.is(registry.agents[0]!.lastSeen, '2026-02-01T00:00:05.000Z', 'the registry given is left alone');
});

test('overlaySeen: a time before the agent was paired belongs to an earlier agent of that name', t => {
	const registry: Registry = {version: 1, agents: [record('web1', {pairedAt: '2026-03-01T00:00:00.000Z'})]};
	t.is(overlaySeen(registry, parseSeen(seenLine(['web1'], '2026-02-28T23:59:59.000Z'))).agents[0]!.lastSeen, undefined);
	t.is(overlaySeen(registry, parseSeen(seenLine(['web1'], '2026-03-01T00:00:00.000Z'))).agents[0]!.lastSeen, '2026-03-01T00:00:00.000Z');
});

test('a line says the link the agents answered over; the latest line decides it, and an unknown link is left unsaid', t => {
	t.is(seenLine(['nat1'], '2026-02-01T00:00:00.000Z', 'relay'), '{"at":"2026-02-01T00:00:00.000Z","agents":["nat1"],"via":"relay"}\n');
	const text = seenLine(['a', 'b'], '2026-02-01T00:00:01.000Z', 'relay') + seenLine(['a'], '2026-02-01T00:00:02.000Z', 'tls') + '{"at":"2026-02-01T00:00:03.000Z","agents":["c"],"via":"carrier-pigeon"}\n';
	t.deepEqual(Object.fromEntries(parseSeen(text)), {a: {at: '2026-02-01T00:00:02.000Z', via: 'tls'}, b: {at: '2026-02-01T00:00:01.000Z', via: 'relay'}, c: {at: '2026-02-01T00:00:03.000Z'}});
});

test('overlaySeen: the link comes with the time, and a later time over an unknown link forgets the earlier link', t => {
	const registry: Registry = {version: 1, agents: [record('a', {lastSeen: '2026-02-01T00:00:05.000Z', lastSeenVia: 'tls'}), record('b', {lastSeen: '2026-02-01T00:00:05.000Z', lastSeenVia: 'tls'})]};
	const laid = overlaySeen(registry, parseSeen(seenLine(['a'], '2026-02-01T00:00:09.000Z', 'relay') + seenLine(['b'], '2026-02-01T00:00:09.000Z')));
	t.deepEqual(laid.agents.map(agent => [agent.name, agent.lastSeen, agent.lastSeenVia]), [['a', '2026-02-01T00:00:09.000Z', 'relay'], ['b', '2026-02-01T00:00:09.000Z', undefined]]);
});
