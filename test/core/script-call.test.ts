/** A typed script call's refusals before anything runs: a script no answering agent has says which selected agents did not answer, and why. */
import test from 'ava';
import type {AuditLog} from '../../source/audit/file-log.js';
import {checkScriptCall} from '../../source/core/script-call.js';
import type {DiscoveryCache} from '../../source/core/discovery-cache.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import type {AgentRecord} from '../../source/registry/model.js';

const record = (name: string): AgentRecord => ({name, address: '127.0.0.1:1', tags: {env: 'staging'}, serial: name, fingerprint: name, certificateExpires: '2099-01-01T00:00:00Z', pairedAt: '2026-01-01T00:00:00Z'});

function ports(found: Discovered[]) {
	const discovery: DiscoveryCache = {discover: async () => found};
	const audit = {append: async () => undefined} as unknown as AuditLog;
	return {registry: async () => ({version: 1 as const, agents: found.map(agent => record(agent.name))}), audit, discovery, discoveryMaxAgeMs: 0};
}

const call = {script: 'check-service', args: [], on: ['env=staging'], scope: {id: 'x', name: 'ops', scripts: ['*'], on: ['all'], expiresAt: null}, caller: 'token:ops'};

const cases: Array<{title: string; found: Discovered[]; message: string}> = [
	{
		title: 'every selected agent answered and none has the script',
		found: [{name: 'web1', address: '127.0.0.1:1', status: 'reachable', scripts: []}],
		message: 'No reachable selected agent has check-service on its allowlist.',
	},
	{
		title: 'the agents that have it did not answer: their names and reasons are said',
		found: [
			{name: 'web1', address: '127.0.0.1:1', status: 'unreachable', reason: 'no answer within 3 s', scripts: []},
			{name: 'web2', address: '127.0.0.1:2', status: 'reachable', scripts: []},
			{name: 'web3', address: '127.0.0.1:3', status: 'unreachable', scripts: []},
		],
		message: 'No reachable selected agent has check-service on its allowlist. Not answering: web1 (no answer within 3 s), web3 (unreachable); try again when they are reachable.',
	},
];

for (const row of cases) {
	test(row.title, async t => {
		await t.throwsAsync(checkScriptCall(ports(row.found), call), {code: 'SCRIPT_UNKNOWN', message: row.message});
	});
}
