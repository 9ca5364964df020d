/**
 * Relay presence between processes (source/registry/presence-state.ts): what serves write and how
 * two of them merge, how a reader judges it at a given time (seen within two heartbeats, not seen
 * while watched, unknown while nobody watches), and what the SEEN column says (core/agents-view.ts
 * seenText).
 */
import test from 'ava';
import {seenText} from '../../source/core/agents-view.js';
import {emptyPresenceState, forgetWatcher, notePresence, parsePresenceState, presenceStaleMs, relayPresenceOf, relayPresenceText, type PresenceState, type RelayPresence} from '../../source/registry/presence-state.js';

const broker = 'nats://127.0.0.1:4222';
const now = Date.parse('2026-12-07T03:00:00.000Z');
const relay = {name: 'kiosk7', transport: 'nats', relay: broker};

const state = (heartbeatAgo: number | undefined, watchedAgo: number | undefined): PresenceState => notePresence(
	watchedAgo === undefined ? emptyPresenceState() : notePresence(emptyPresenceState(), {writer: 'serve-a', counted: new Map(), watched: [broker], now: now - watchedAgo}),
	{writer: 'serve-a', counted: heartbeatAgo === undefined ? new Map() : new Map([['kiosk7', {at: now - heartbeatAgo, broker}]]), watched: [], now},
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
	let current = notePresence(emptyPresenceState(), {writer: 'serve-a', counted: new Map([['a', {at: now - 5000, broker}], ['old', {at: now - 90_000_000, broker}]]), watched: [broker], now});
	current = notePresence(current, {writer: 'serve-a', counted: new Map([['a', {at: now - 9000, broker}]]), watched: [], now});
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

const other = 'nats://127.0.0.1:4223';
const flush = (current: PresenceState, writer: string, counted: Array<[string, number, string]>, watched: string[], at = now) => notePresence(current, {writer, counted: new Map(counted.map(([name, ago, url]) => [name, {at: at - ago, broker: url}])), watched, now: at});
const judged = (current: PresenceState, name: string, url: string, at = now) => relayPresenceOf({name, transport: 'nats', relay: url}, current, at)?.state;

test('two serves merge: each one\'s heartbeats and watches are kept, whichever flushed last', t => {
	let current = flush(emptyPresenceState(), 'serve-a', [['kiosk1', 1000, broker]], [broker]);
	current = flush(current, 'serve-b', [['kiosk2', 2000, other]], [broker, other]);
	t.deepEqual({...current.agents}, {kiosk1: {at: now - 1000, broker}, kiosk2: {at: now - 2000, broker: other}});
	t.deepEqual({...current.brokers}, {[broker]: now, [other]: now});
	t.deepEqual(Object.keys(current.watchers).sort(), ['serve-a', 'serve-b']);
});

test('the newest heartbeat of an agent wins, whichever serve counted it and whenever it flushed', t => {
	const late = flush(flush(emptyPresenceState(), 'serve-a', [['kiosk1', 1000, broker]], [broker]), 'serve-b', [['kiosk1', 8000, other]], [other]);
	const early = flush(flush(emptyPresenceState(), 'serve-b', [['kiosk1', 8000, other]], [other]), 'serve-a', [['kiosk1', 1000, broker]], [broker]);
	t.deepEqual(late.agents['kiosk1'], {at: now - 1000, broker});
	t.deepEqual(early.agents['kiosk1'], {at: now - 1000, broker});
});

test('a serve that stops takes back its own watches only: a broker another serve watches stays watched', t => {
	let current = flush(emptyPresenceState(), 'serve-a', [], [broker, other]);
	current = flush(current, 'serve-b', [], [broker]);
	current = forgetWatcher(current, 'serve-a');
	t.deepEqual({...current.brokers}, {[broker]: now});
	t.is(judged(current, 'kiosk1', broker), 'not-seen', 'serve-b still watches it');
	t.is(judged(current, 'kiosk2', other), 'unwatched', 'nobody watches it now');
	t.is(judged(forgetWatcher(current, 'serve-b'), 'kiosk1', broker), 'unwatched');
});

test('a serve killed without taking back its watches: its brokers read as unwatched two heartbeats later, and its entry goes after a day', t => {
	const current = flush(emptyPresenceState(), 'serve-a', [], [broker]);
	t.is(judged(current, 'kiosk1', broker, now + presenceStaleMs), 'not-seen');
	t.is(judged(current, 'kiosk1', broker, now + presenceStaleMs + 1), 'unwatched');
	const dayLater = flush(current, 'serve-b', [], [other], now + 86_400_001);
	t.deepEqual(Object.keys(dayLater.watchers), ['serve-b']);
});

test('a state file from before serves kept their own watches: its brokers are one unnamed serve\'s, kept until a day old', t => {
	const old = parsePresenceState(JSON.stringify({v: 1, brokers: {[broker]: now - 1000}, agents: {kiosk1: {at: now - 2000, broker}}}));
	t.deepEqual({...old.brokers}, {[broker]: now - 1000});
	const merged = flush(old, 'serve-a', [], [other]);
	t.deepEqual({...merged.brokers}, {[broker]: now - 1000, [other]: now});
	t.deepEqual(merged.agents['kiosk1'], {at: now - 2000, broker});
	t.deepEqual(parsePresenceState(JSON.stringify(merged)), merged, 'what is written reads back the same');
});
