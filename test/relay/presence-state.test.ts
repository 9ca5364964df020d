/**
 * Relay presence between processes (source/registry/presence-state.ts): what serve writes, how a
 * reader judges it at a given time (seen within two heartbeats, not seen while watched, unknown
 * while nobody watches), and what the SEEN column says (core/agents-view.ts seenText).
 */
import test from 'ava';
import {seenText} from '../../source/core/agents-view.js';
import {emptyPresenceState, notePresence, parsePresenceState, presenceStaleMs, relayPresenceOf, relayPresenceText, type PresenceState, type RelayPresence} from '../../source/registry/presence-state.js';

const broker = 'nats://127.0.0.1:4222';
const now = Date.parse('2026-12-07T03:00:00.000Z');
const relay = {name: 'kiosk7', transport: 'nats', relay: broker};

const state = (heartbeatAgo: number | undefined, watchedAgo: number | undefined): PresenceState => notePresence(
	watchedAgo === undefined ? emptyPresenceState() : notePresence(emptyPresenceState(), new Map(), [broker], now - watchedAgo),
	heartbeatAgo === undefined ? new Map() : new Map([['kiosk7', {at: now - heartbeatAgo, broker}]]),
	[],
	now,
);

const cases: Array<{title: string; record?: typeof relay | {name: string; transport?: string}; heartbeatAgo?: number; watchedAgo?: number; expected: RelayPresence | null; text?: string}> = [
	{title: 'a heartbeat 3 s ago', heartbeatAgo: 3000, watchedAgo: 1000, expected: {state: 'seen', lastHeartbeat: new Date(now - 3000).toISOString(), broker}, text: 'seen 3 s ago via relay'},
	{title: 'a heartbeat exactly two intervals ago is still seen', heartbeatAgo: presenceStaleMs, watchedAgo: 0, expected: {state: 'seen', lastHeartbeat: new Date(now - presenceStaleMs).toISOString(), broker}, text: 'seen 1 min ago via relay'},
	{title: 'a heartbeat a millisecond past two intervals, broker watched: not seen', heartbeatAgo: presenceStaleMs + 1, watchedAgo: 0, expected: {state: 'not-seen', lastHeartbeat: new Date(now - presenceStaleMs - 1).toISOString(), broker}, text: 'not seen for 1 min via relay'},
	{title: 'no heartbeat ever, broker watched: not seen', watchedAgo: 5000, expected: {state: 'not-seen', lastHeartbeat: null, broker: null}, text: 'not seen via relay'},
	{title: 'an old heartbeat and nobody watching (serve stopped a while ago): unknown', heartbeatAgo: 600_000, watchedAgo: 300_000, expected: {state: 'unwatched', lastHeartbeat: new Date(now - 600_000).toISOString(), broker}, text: 'presence not watched (xi-exec serve is not running)'},
	{title: 'nothing at all: unknown', expected: {state: 'unwatched', lastHeartbeat: null, broker: null}},
	{title: 'a fresh heartbeat counts even with nobody watching now (serve just stopped)', heartbeatAgo: 10_000, expected: {state: 'seen', lastHeartbeat: new Date(now - 10_000).toISOString(), broker}},
	{title: 'an agent on direct TLS has no relay presence', record: {name: 'kiosk7', transport: 'tls'}, heartbeatAgo: 1000, expected: null},
	{title: 'an agent without a transport (direct TLS) has none either', record: {name: 'kiosk7'}, heartbeatAgo: 1000, expected: null},
];

for (const c of cases) {
	test(`presence: ${c.title}`, t => {
		const presence = relayPresenceOf(c.record ?? relay, state(c.heartbeatAgo, c.watchedAgo), now);
		t.deepEqual(presence, c.expected);
		if (c.text && presence) {
			t.is(relayPresenceText(presence, now), c.text);
		}
	});
}

test('the later heartbeat of an agent wins; entries older than a day go', t => {
	let current = notePresence(emptyPresenceState(), new Map([['a', {at: now - 5000, broker}], ['old', {at: now - 90_000_000, broker}]]), [broker], now);
	current = notePresence(current, new Map([['a', {at: now - 9000, broker}]]), [], now);
	t.deepEqual(current.agents, {a: {at: now - 5000, broker}});
	t.deepEqual(current.brokers, {[broker]: now});
});

test('a state file that is not ours reads as nothing known, never throws', t => {
	for (const text of [undefined, '', 'null', '[1]', '{"v":2,"brokers":{},"agents":{}}', '{"v":1,"brokers":{"x":"soon"},"agents":{"a":{"at":"1"},"__proto__":{"at":1,"broker":"b"}}}']) {
		const parsed = parsePresenceState(text);
		t.deepEqual({...parsed.brokers}, {}, String(text));
		t.deepEqual(Object.keys(parsed.agents), [], String(text));
	}

	t.deepEqual(parsePresenceState(JSON.stringify(state(1000, 0))).agents['kiosk7'], {at: now - 1000, broker});
});

test('SEEN: the later of the last answer and the last heartbeat; "not seen" once both are older than two heartbeats', t => {
	const at = (ago: number) => new Date(now - ago).toISOString();
	const seen = (presence: RelayPresence | null, lastSeen: string | null, lastSeenVia: 'tls' | 'relay' | null = 'relay') => seenText({lastSeen, lastSeenVia, relayPresence: presence}, new Date(now));
	t.is(seen({state: 'seen', lastHeartbeat: at(3000), broker}, at(300_000)), 'seen 3 s ago via relay');
	t.is(seen({state: 'seen', lastHeartbeat: at(20_000), broker}, at(1000), 'tls'), 'seen 1 s ago via direct TLS', 'an agent of transport both that just answered directly');
	t.is(seen({state: 'not-seen', lastHeartbeat: at(240_000), broker}, at(300_000)), 'not seen for 4 min via relay');
	t.is(seen({state: 'not-seen', lastHeartbeat: null, broker: null}, at(2000)), 'seen 2 s ago via relay', 'it answered just now (its heartbeat not yet counted)');
	t.is(seen({state: 'unwatched', lastHeartbeat: at(600_000), broker}, at(300_000)), 'seen 5 min ago via relay', 'unknown presence: the last answer, as before');
	t.is(seen(null, null), 'never seen');
});
