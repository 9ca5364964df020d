import test from 'ava';
import {fleetColumns} from '../../source/ui/screens/fleet/fleet-columns.js';
import {initialFleetState, reduceFleet, seenAt, selectedAgent, visibleAgents, type FleetAction, type FleetState} from '../../source/ui/screens/fleet/use-fleet-state.js';
import {presenceText} from '../../source/core/agents-view.js';
import {agentRecord, demoFleet, reachable, unreachable, viewOf} from './helpers/fake-core.js';

const fold = (actions: FleetAction[], state: FleetState = initialFleetState) => actions.reduce(reduceFleet, state);
const loaded = fold([{type: 'agents-loaded', agents: demoFleet}]);
const names = (state: FleetState) => visibleAgents(state).map(agent => agent.name);

test('loading the registry shows every agent as checking, with no scripts yet', t => {
	t.false(initialFleetState.loaded);
	t.true(loaded.loaded);
	t.deepEqual(loaded.agents.map(agent => [agent.name, agent.status, agent.scripts.length]), demoFleet.map(record => [record.name, 'checking', 0]));
});

test('discovery updates one agent at a time; a later answer clears the earlier reason', t => {
	const db1 = demoFleet[1]!;
	let state = reduceFleet(loaded, {type: 'agent-discovered', view: viewOf(unreachable(db1, 'connect ECONNREFUSED'), db1)});
	t.deepEqual(state.agents.map(agent => agent.status), ['checking', 'unreachable', 'checking', 'checking', 'checking', 'checking']);
	t.is(state.agents[1]!.reason, 'connect ECONNREFUSED');

	state = fold([{type: 'rediscover'}, {type: 'agent-discovered', view: viewOf(reachable(db1), db1)}], state);
	t.is(state.agents[1]!.status, 'reachable');
	t.is(state.agents[1]!.reason, null);
	t.is(state.agents[1]!.scripts.length, 3);
	t.deepEqual(state.agents.filter(agent => agent.status === 'checking').length, 5);
});

test('discovery of an agent the registry does not hold changes nothing', t => {
	const stranger = agentRecord('stranger', 9, {});
	t.deepEqual(reduceFleet(loaded, {type: 'agent-discovered', view: viewOf(reachable(stranger), stranger)}).agents, loaded.agents);
});

test('the filter is a selector (the grammar of --on); the clause being typed matches as a prefix', t => {
	const typed = (text: string) => fold([{type: 'filter-start'}, ...[...text].map((character): FleetAction => ({type: 'filter-type', text: character}))], loaded);
	const kept = (text: string) => reduceFleet(typed(text), {type: 'filter-done'});
	t.deepEqual(names(typed('role=web')), ['web1', 'web2', 'web3']);
	t.deepEqual(names(typed('env=prod')), ['cache1', 'db1', 'web1', 'web2'], 'a tag value being typed matches by its start');
	t.deepEqual(names(kept('env=prod')), [], 'once kept, exactly as --on env=prod');
	t.deepEqual(names(typed('env=production,role=db')), ['db1'], 'a comma: all of them');
	t.deepEqual(names(typed('role=db role=cache')), ['cache1', 'db1', 'db2'], 'a space: any of them');
	t.deepEqual(names(typed('web')), ['web1', 'web2', 'web3'], 'a name being typed matches by its start');
	t.deepEqual(names(kept('web')), [], 'once kept, a name matches whole');
	t.deepEqual(names(kept('web[1-2]')), ['web1', 'web2'], 'ranges');
	t.deepEqual(names(kept('site=paris !db*')), ['cache1', 'web2'], 'exclusions');
	t.deepEqual(names(kept('!role=web')), ['cache1', 'db1', 'db2'], 'only exclusions: from all agents');
	t.deepEqual(names(typed('web[1-')), [], 'an unfinished range matches nothing yet');
	t.deepEqual(names(typed('role=nothing')), []);
	t.true(typed('role=web').editingFilter);
});

test('erase, done and clear: Enter keeps the filter, Esc clears it', t => {
	let state = fold([{type: 'filter-start'}, {type: 'filter-type', text: 'role=dbx'}, {type: 'filter-erase'}], loaded);
	t.is(state.filter, 'role=db');
	state = reduceFleet(state, {type: 'filter-done'});
	t.false(state.editingFilter);
	t.deepEqual(names(state), ['db1', 'db2']);
	state = reduceFleet(state, {type: 'filter-clear'});
	t.is(state.filter, '');
	t.is(names(state).length, 6);
});

test('the cursor stays on a shown agent: clamped at both ends, back to the top when the filter changes', t => {
	let state = reduceFleet(loaded, {type: 'move', delta: -1});
	t.is(state.cursor, 0);
	state = reduceFleet(state, {type: 'move', delta: 4});
	t.is(selectedAgent(state)?.name, 'web2');
	state = reduceFleet(state, {type: 'move', delta: 10});
	t.is(selectedAgent(state)?.name, 'web3');
	state = fold([{type: 'filter-start'}, {type: 'filter-type', text: 'db'}], state);
	t.is(state.cursor, 0);
	t.is(selectedAgent(state)?.name, 'db1');
	state = reduceFleet(state, {type: 'filter-type', text: 'z'});
	t.is(selectedAgent(state), undefined);
	t.is(state.cursor, 0);
});

test('columns: at 100 columns the demo fleet\'s tags are shown in full', t => {
	const sized = demoFleet.map(record => ({name: record.name, address: record.address, tags: Object.entries(record.tags).map(([key, value]) => `${key}=${value}`).join(' ')}));
	const longestTags = Math.max(...sized.map(agent => agent.tags.length));
	const columns = fleetColumns(100, sized);
	t.deepEqual(columns, {name: 6, address: 14, status: 11, scripts: 7, seen: 4, expires: 10, tags: 42});
	t.true(columns.tags >= longestTags);
});

test('columns: addresses and names narrow on a narrow terminal, the tags get the rest', t => {
	const long = [{name: 'a-rather-long-agent-name', address: 'build-runner-17.eu-west.internal:7443', tags: 'env=production role=build site=dublin'}];
	t.deepEqual(fleetColumns(160, long), {name: 16, address: 21, status: 11, scripts: 7, seen: 4, expires: 10, tags: 85}, 'capped when wide');
	t.deepEqual(fleetColumns(100, long), {name: 10, address: 15, status: 11, scripts: 7, seen: 4, expires: 10, tags: 37}, 'the address narrows first, then the name, until the tags fit');
	t.deepEqual(fleetColumns(80, long), {name: 10, address: 15, status: 11, scripts: 7, seen: 4, expires: 7, tags: 20}, 'below 90 columns the expiry is a time left; when each was seen stays');
	t.deepEqual(fleetColumns(40, long).tags, 8, 'tags keep a few columns however narrow');
	t.deepEqual(fleetColumns(80, []), {name: 4, address: 7, status: 11, scripts: 7, seen: 4, expires: 7, tags: 34}, 'the headers fit');
});

test('columns: when the tags filtered on do not fit, EXPIRES and then SCRIPTS give way; SEEN stays', t => {
	const demo = [{name: 'web1', address: '127.0.0.1:45995', tags: 'env=production role=web site=london'}];
	t.is(fleetColumns(80, demo, 12).expires, 7, 'one tag filtered on fits as it is');
	t.is(fleetColumns(80, demo, 26).expires, 7, 'two tags fit as they are');
	t.deepEqual(fleetColumns(80, demo, 30), {name: 4, address: 15, status: 11, scripts: 7, seen: 4, expires: 0, tags: 34}, 'more: EXPIRES gives way');
	t.deepEqual(fleetColumns(80, demo, 36), {name: 4, address: 15, status: 11, scripts: 0, seen: 4, expires: 0, tags: 42}, 'three: SCRIPTS too');
	t.deepEqual(fleetColumns(120, demo, 36), {name: 4, address: 15, status: 11, scripts: 7, seen: 4, expires: 10, tags: 63}, 'a wide terminal keeps every column');
});

test('fleet: agents are listed by name with numbers by value (web2 before web10), after a refresh too', t => {
	const records = ['web10', 'web2', 'db13', 'db4', 'web1'].map(name => ({...demoFleet[0]!, name}));
	const loaded = reduceFleet(initialFleetState, {type: 'agents-loaded', agents: records});
	t.deepEqual(loaded.agents.map(agent => agent.name), ['db4', 'db13', 'web1', 'web2', 'web10']);
	const refreshed = reduceFleet(loaded, {type: 'agents-refreshed', agents: [...records].reverse()});
	t.deepEqual(refreshed.agents.map(agent => agent.name), ['db4', 'db13', 'web1', 'web2', 'web10']);
});

test('the fleet keeps the link an agent answered over: discovery\'s view says it, a run\'s result (or the transport) after', t => {
	const now = new Date('2026-03-01T12:00:00.000Z');
	const nat1 = {...agentRecord('nat1', 0, {}), transport: 'nats' as const, relay: 'nats://broker:4222'};
	const kiosk1 = {...agentRecord('kiosk1', 1, {}), transport: 'both' as const, relay: 'nats://broker:4222', lastSeenVia: 'relay' as const};
	const web1 = agentRecord('web1', 2, {});
	const loaded = fold([{type: 'agents-loaded', agents: [nat1, kiosk1, web1]}]);
	const discovered = reduceFleet(loaded, {type: 'agent-discovered', view: viewOf({...reachable(kiosk1), via: 'tls'}, kiosk1, now)});
	const ran = fold([
		{type: 'agent-ran', name: 'nat1', reachable: true, at: now.getTime()},
		{type: 'agent-ran', name: 'web1', reachable: true, via: 'relay', at: now.getTime()},
	], discovered);
	t.deepEqual(ran.agents.map(agent => [agent.name, agent.lastSeen, agent.lastSeenVia, presenceText(agent, now)]), [
		['kiosk1', now.toISOString(), 'tls', 'seen 0 s ago via direct TLS'],
		['nat1', now.toISOString(), 'relay', 'seen 0 s ago via relay'],
		['web1', now.toISOString(), 'relay', 'seen 0 s ago via relay'],
	]);
});

test('before it answers an agent is the core\'s view of its registry record, checking; a run it did not answer makes it unreachable', t => {
	const db1 = demoFleet[1]!;
	const [checking] = fold([{type: 'agents-loaded', agents: [db1]}]).agents;
	t.deepEqual(checking, {...viewOf(unreachable(db1, 'x'), db1), status: 'checking', reason: null});
	const ran = fold([{type: 'agents-loaded', agents: [db1]}, {type: 'agent-discovered', view: viewOf(reachable(db1), db1)}, {type: 'agent-ran', name: 'db1', reachable: false, reason: 'connect ECONNREFUSED', at: 0}]);
	t.deepEqual(ran.agents.map(agent => [agent.status, agent.reason, agent.scripts.length]), [['unreachable', 'connect ECONNREFUSED', 0]]);
});

test('SEEN counts a relay agent\'s signed presence heartbeat when it is later than its last answer', t => {
	const at = (iso: string) => Date.parse(iso);
	t.is(seenAt({lastSeen: '2026-03-01T12:00:00.000Z', relayPresence: null}), at('2026-03-01T12:00:00.000Z'));
	t.is(seenAt({lastSeen: '2026-03-01T12:00:00.000Z', relayPresence: {state: 'seen', lastHeartbeat: '2026-03-01T12:05:00.000Z', broker: 'nats://b:4222'}}), at('2026-03-01T12:05:00.000Z'));
	t.is(seenAt({lastSeen: null, relayPresence: {state: 'not-seen', lastHeartbeat: '2026-03-01T11:00:00.000Z', broker: 'nats://b:4222'}}), at('2026-03-01T11:00:00.000Z'));
	t.is(seenAt({lastSeen: null, relayPresence: {state: 'unwatched', lastHeartbeat: '2026-03-01T11:00:00.000Z', broker: null}}), undefined);
});
