import test from 'ava';
import {addAgent, emptyRegistry, parseRegistry, recordRenewal, revokedSerials, unpairAgent, type AgentRecord} from '../../source/registry/model.js';

const web1: AgentRecord = {name: 'web1', address: '127.0.0.1:9001', tags: {}, serial: 'aa', fingerprint: 'f', certificateExpires: '2026-03-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z'};
const at = '2026-02-01T00:00:00.000Z';

test('unpairing removes the agent and revokes its serial', t => {
	const registry = unpairAgent(addAgent(emptyRegistry(), web1), 'web1', at);
	t.deepEqual(registry.agents, []);
	t.deepEqual(registry.revoked, [{serial: 'aa', agent: 'web1', reason: 'unpaired', at}]);
	t.deepEqual([...revokedSerials(registry)], ['aa']);
});

test('unpairing an unknown agent is refused with what to do', t => {
	t.throws(() => unpairAgent(emptyRegistry(), 'web9', at), {message: 'No agent named web9 is registered; `xi-exec agents` lists them.'});
});

test('a renewal records the new certificate and revokes the old serial', t => {
	const registry = recordRenewal(addAgent(emptyRegistry(), web1), 'web1', {serial: 'bb', fingerprint: 'g', notBefore: at, notAfter: '2026-05-01T00:00:00.000Z'}, at);
	t.like(registry.agents[0], {serial: 'bb', fingerprint: 'g', certificateIssued: at, certificateExpires: '2026-05-01T00:00:00.000Z'});
	t.deepEqual(registry.revoked, [{serial: 'aa', agent: 'web1', reason: 'renewed', at}]);
});

test('a renewal keeps the former certificate, so that older audit checkpoints still verify', t => {
	const registry = recordRenewal(addAgent(emptyRegistry(), {...web1, certificate: 'PEM-A'}), 'web1', {serial: 'bb', fingerprint: 'g', notBefore: at, notAfter: at, certificate: 'PEM-B'}, at);
	t.like(registry.agents[0], {certificate: 'PEM-B', formerCertificates: ['PEM-A']});
});

test('a renewal for an agent unpaired meanwhile changes nothing', t => {
	const registry = emptyRegistry();
	t.is(recordRenewal(registry, 'web1', {serial: 'bb', fingerprint: 'g', notBefore: at, notAfter: at}, at), registry);
});

test('pairing again with --replace revokes the replaced certificate', t => {
	const registry = addAgent(addAgent(emptyRegistry(), web1), {...web1, serial: 'cc', pairedAt: at}, {replace: true});
	t.is(registry.agents[0]!.serial, 'cc');
	t.deepEqual(registry.revoked, [{serial: 'aa', agent: 'web1', reason: 'replaced', at}]);
});

test('a registry whose revoked list is malformed is refused when read', t => {
	t.is(parseRegistry({version: 1, agents: [], revoked: 'aa'}), '"revoked" must be a list of {serial, agent, reason, at}');
	t.is(parseRegistry({version: 1, agents: [], revoked: [{serial: 1}]}), '"revoked" must be a list of {serial, agent, reason, at}');
});
