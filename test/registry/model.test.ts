import test from 'ava';
import {XiError} from '../../source/errors.js';
import {addAgent, changeAgentTags, emptyRegistry, findAgent, markSeen, parseRegistry, removeAgent, type AgentRecord, type Registry} from '../../source/registry/model.js';

const pairedAt = '2026-01-15T12:00:00.000Z';

function record(name: string, changes: Partial<AgentRecord> = {}): AgentRecord {
	return {
		name,
		address: `10.0.0.5:7441`,
		tags: {env: 'prod'},
		serial: '1a2b3c',
		fingerprint: 'ab'.repeat(32),
		certificateExpires: '2026-04-15T12:00:00.000Z',
		pairedAt,
		...changes,
	};
}

test('addAgent keeps the agents sorted by name and leaves the old registry alone', t => {
	const empty = emptyRegistry();
	const one = addAgent(empty, record('web2'));
	const two = addAgent(one, record('db1'));
	const three = addAgent(two, record('web10'));
	t.deepEqual(three.agents.map(agent => agent.name), ['db1', 'web10', 'web2']);
	t.deepEqual(empty, {version: 1, agents: []});
	t.deepEqual(one.agents.map(agent => agent.name), ['web2']);
});

test('addAgent refuses a name already paired', t => {
	const registry = addAgent(emptyRegistry(), record('web1'));
	const error = t.throws(() => addAgent(registry, record('web1', {address: '10.0.0.6:7441'})), {instanceOf: XiError});
	t.is(error?.code, 'AGENT_EXISTS');
	t.is(error?.message, 'An agent named web1 is already paired; unpair it first or pair again with --replace.');
});

test('addAgent with replace swaps the record', t => {
	const registry = addAgent(addAgent(emptyRegistry(), record('web1')), record('web2'));
	const replaced = addAgent(registry, record('web1', {serial: 'ff'}), {replace: true});
	t.deepEqual(replaced.agents.map(agent => [agent.name, agent.serial]), [['web1', 'ff'], ['web2', '1a2b3c']]);
});

test('removeAgent removes one agent and refuses an unknown one', t => {
	const registry = addAgent(addAgent(emptyRegistry(), record('web1')), record('web2'));
	t.deepEqual(removeAgent(registry, 'web1').agents.map(agent => agent.name), ['web2']);
	const error = t.throws(() => removeAgent(registry, 'web3'), {instanceOf: XiError});
	t.is(error?.code, 'AGENT_UNKNOWN');
	t.is(error?.message, 'No agent named web3 is registered; `xi-exec agents` lists them.');
});

test('findAgent finds by exact name', t => {
	const registry = addAgent(emptyRegistry(), record('web1'));
	t.is(findAgent(registry, 'web1')?.name, 'web1');
	t.is(findAgent(registry, 'WEB1'), undefined);
});

test('markSeen stamps only the named agents', t => {
	const registry = addAgent(addAgent(emptyRegistry(), record('web1')), record('web2'));
	const seen = markSeen(registry, ['web2', 'ghost'], '2026-01-16T08:00:00.000Z');
	t.is(seen.agents[0]!.lastSeen, undefined);
	t.is(seen.agents[1]!.lastSeen, '2026-01-16T08:00:00.000Z');
	t.is(registry.agents[1]!.lastSeen, undefined);
});

const shape = 'expected {"version": 1, "agents": [...]}';
const refusals: Array<{title: string; value: unknown; problem: string}> = [
	{title: 'null', value: null, problem: shape},
	{title: 'an array', value: [], problem: shape},
	{title: 'version 2', value: {version: 2, agents: []}, problem: shape},
	{title: 'agents as an object', value: {version: 1, agents: {}}, problem: shape},
	{title: 'a null agent', value: {version: 1, agents: [null]}, problem: 'agent record undefined lacks name, address, serial or tags'},
	{title: 'an agent without an address', value: {version: 1, agents: [{...record('web1'), address: undefined}]}, problem: 'agent record "web1" lacks name, address, serial or tags'},
	{title: 'an agent with a numeric serial', value: {version: 1, agents: [{...record('web1'), serial: 12}]}, problem: 'agent record "web1" lacks name, address, serial or tags'},
	{title: 'an agent with null tags', value: {version: 1, agents: [{...record('web1'), tags: null}]}, problem: 'agent record "web1" lacks name, address, serial or tags'},
	{title: 'an agent with tags as an array', value: {version: 1, agents: [{...record('web1'), tags: ['env=prod']}]}, problem: 'agent record "web1" lacks name, address, serial or tags'},
];

for (const c of refusals) {
	test(`parseRegistry refuses ${c.title}`, t => {
		t.is(parseRegistry(c.value), c.problem);
	});
}

test('parseRegistry returns a registry of the shape it wrote', t => {
	const registry: Registry = {version: 1, agents: [record('web1', {lastSeen: pairedAt})]};
	t.is(parseRegistry(registry), registry);
	t.deepEqual(parseRegistry(JSON.parse(JSON.stringify(registry))), registry);
});

test('changeAgentTags changes one agent\'s tags and says what they were', t => {
	const registry = addAgent(addAgent(emptyRegistry(), record('web1', {tags: {env: 'prod', site: 'paris'}})), record('web2'));
	const changed = changeAgentTags(registry, 'web1', {set: {site: 'london', role: 'db'}, unset: ['env']});
	t.deepEqual(changed.before, {env: 'prod', site: 'paris'});
	t.deepEqual(changed.after, {role: 'db', site: 'london'});
	t.deepEqual(findAgent(changed.registry, 'web1')?.tags, {role: 'db', site: 'london'});
	t.deepEqual(findAgent(changed.registry, 'web2')?.tags, {env: 'prod'});
	t.deepEqual(findAgent(registry, 'web1')?.tags, {env: 'prod', site: 'paris'});
});

test('changeAgentTags refuses an unknown agent and a key that is not there', t => {
	const registry = addAgent(emptyRegistry(), record('web1'));
	const unknown = t.throws(() => changeAgentTags(registry, 'web9', {set: {env: 'x'}, unset: []}), {instanceOf: XiError});
	t.is(unknown.code, 'AGENT_UNKNOWN');
	t.is(unknown.message, 'No agent named "web9" is registered; `xi-exec agents` lists them.');
	const missing = t.throws(() => changeAgentTags(registry, 'web1', {set: {}, unset: ['site']}), {instanceOf: XiError});
	t.is(missing.code, 'TAG_INVALID');
	t.is(missing.message, 'web1: there is no tag "site" to remove (the tags are: env=prod).');
});
