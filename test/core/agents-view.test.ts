/**
 * Presence and transport in the one agents view (core/agents-view.ts) that `agents`, `agents
 * --json`, GET /v1/agents and the console all show (the console's fleet: test/ui/fleet-state.test.ts): each agent's transport, when it last answered
 * and over which link, recorded in the registry's journal per link, and worded for a person.
 */
import test from 'ava';
import {presenceText, seenViaOf, viewAgents} from '../../source/core/agents-view.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import type {AgentRecord, SeenVia} from '../../source/registry/model.js';
import type {RegistryStore} from '../../source/registry/store.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const ago = (seconds: number) => new Date(now.getTime() - (seconds * 1000)).toISOString();

const cases: Array<{seen: {lastSeen?: string | null; lastSeenVia?: SeenVia | null}; text: string}> = [
	{seen: {}, text: 'never seen'},
	{seen: {lastSeen: null, lastSeenVia: 'relay'}, text: 'never seen'},
	{seen: {lastSeen: 'not a date'}, text: 'never seen'},
	{seen: {lastSeen: ago(3), lastSeenVia: 'relay'}, text: 'seen 3 s ago via relay'},
	{seen: {lastSeen: ago(59.9), lastSeenVia: 'tls'}, text: 'seen 59 s ago via direct TLS'},
	{seen: {lastSeen: ago(60)}, text: 'seen 1 min ago'},
	{seen: {lastSeen: ago(7200), lastSeenVia: 'relay'}, text: 'seen 2 h ago via relay'},
	{seen: {lastSeen: ago(3 * 86_400)}, text: 'seen 3 d ago'},
	{seen: {lastSeen: ago(-5), lastSeenVia: 'tls'}, text: 'seen 0 s ago via direct TLS'},
];

for (const c of cases) {
	test(`presenceText: ${c.text} (${JSON.stringify(c.seen)})`, t => {
		t.is(presenceText(c.seen, now), c.text);
	});
}

test('a run\'s link follows the transport; for both it is unknown (it may have fallen back to the relay)', t => {
	t.deepEqual([undefined, 'tls', 'nats', 'both'].map(transport => seenViaOf(transport as AgentRecord['transport'])), ['tls', 'tls', 'relay', undefined]);
});

const record = (name: string, changes: Partial<AgentRecord> = {}): AgentRecord => ({name, address: '10.0.0.5:7441', tags: {}, serial: '1a', fingerprint: 'ab'.repeat(32), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z', ...changes});

test('the view shows each agent\'s transport and the link it answered over, and the journal gets one line per link', async t => {
	const agents = [
		record('web1'),
		record('nat1', {transport: 'nats', relay: 'nats://broker:4222'}),
		record('kiosk1', {transport: 'both', relay: 'nats://broker:4222', lastSeen: ago(30), lastSeenVia: 'relay'}),
		record('gone1', {transport: 'nats', relay: 'nats://broker:4222'}),
	];
	const answers: Record<string, Partial<Discovered>> = {web1: {status: 'reachable', via: 'tls'}, nat1: {status: 'reachable', via: 'relay'}, kiosk1: {status: 'unreachable', reason: 'no answer'}, gone1: {status: 'unreachable', reason: 'no answer'}};
	const marked: Array<[string[], string, SeenVia | undefined]> = [];
	const registry = {markSeen: async (names: readonly string[], at: string, via?: SeenVia) => {
		marked.push([[...names], at, via]);
	}} as unknown as RegistryStore;
	const discover = async (targets: readonly AgentRecord[]) => targets.map(target => ({name: target.name, address: target.address, scripts: [], ...answers[target.name]}) as Discovered);
	const {agents: views} = await viewAgents({registry, discover, now: () => now}, agents);
	t.deepEqual(views.map(view => [view.name, view.transport, view.lastSeen, view.lastSeenVia, presenceText(view, now)]), [
		['web1', 'tls', now.toISOString(), 'tls', 'seen 0 s ago via direct TLS'],
		['nat1', 'nats', now.toISOString(), 'relay', 'seen 0 s ago via relay'],
		['kiosk1', 'both', ago(30), 'relay', 'seen 30 s ago via relay'],
		['gone1', 'nats', null, null, 'never seen'],
	]);
	t.deepEqual(marked.filter(([names]) => names.length > 0), [[['web1'], now.toISOString(), 'tls'], [['nat1'], now.toISOString(), 'relay']]);
});
