/**
 * A host planned from a cached entry that changed since (core/plan-refresh.ts): over a real agent in
 * this process (real certificates, mutual TLS on 127.0.0.1) whose allowlist the test switches
 * between the attempts, and with a scripted describe for the decisions. A table of the security
 * rows: the stale plan never executes; the host is planned again once, recorded before it runs
 * again; refused again, it ends with a clear error, never a third attempt; a new limit refuses it;
 * a re-plan that cannot be recorded is not run; an approved run is never planned again.
 */
import test from 'ava';
import {loadAllowlist, type LoadedAllowlist} from '../../agent/loaded-allowlist.js';
import {ownersFor} from '../../agent/owners.js';
import {describeAllowlist} from '../../agent/loaded-allowlist.js';
import type {AuditLog} from '../../source/audit/file-log.js';
import type {AuditFields} from '../../source/audit/record.js';
import {refreshingStalePlans, type RefreshPorts, type RunOnHost} from '../../source/core/plan-refresh.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import {runOnAgent} from '../../source/dispatch/run-agent.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import type {ScriptDescription} from '../../source/protocol/frames.js';
import {describedEntryDigest} from '../../source/run/entry-digest.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import {agentRequest, makePlan, type RunPlan} from '../../source/run/plan.js';
import {createController, installFixture} from '../helpers/fleet.js';
import {inProcessAgent} from '../helpers/in-process-agent.js';

const hello = installFixture('hello.sh');
const allowlistSaying = (description: string, more: Record<string, unknown> = {}): LoadedAllowlist => loadAllowlist({scripts: {hello: {path: hello, description, timeoutSeconds: 60, ...more}}}, entry => ownersFor(entry.runAs), undefined);
const entryOf = (allowlist: LoadedAllowlist): ScriptDescription => describeAllowlist(allowlist).find(entry => entry.name === 'hello')!;

function planFor(targets: Array<{name: string; address: string}>, entries: Record<string, string>, confirmed = false): RunPlan {
	return makePlan({
		requestId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
		script: 'hello',
		args: [],
		shownArgs: [],
		secretArgs: false,
		selector: targets.map(target => target.name),
		targets,
		parallel: 4,
		timeoutSeconds: 30,
		dryRun: false,
		caller: 'test@here',
		entries,
		cached: {hosts: targets.map(target => target.name), confirmed},
		notes: [],
	});
}

/** An audit log that keeps what is appended, in order, with `order` (shared with the runs) to show what came first. */
function recordingAudit(order: string[], fail = false): AuditLog & {records: AuditFields[]} {
	const records: AuditFields[] = [];
	return {
		records,
		async append(fields: AuditFields) {
			if (fail) {
				throw new Error('ENOSPC: no space left on device');
			}

			records.push(fields);
			order.push(`audit ${String(fields.event)}`);
		},
	} as unknown as AuditLog & {records: AuditFields[]};
}

/** One real agent whose allowlist is `current` when it is asked (describe or run). */
async function realAgent(t: {teardown: (fn: () => void) => void}) {
	const home = await createController();
	let current = allowlistSaying('as cached');
	const {server} = await inProcessAgent(home, 'web1', {hello}, {recorder: undefined as never, allowlist: () => current});
	t.teardown(() => server.server.close());
	const port = (server.server.address() as {port: number}).port;
	const paths = controllerPaths(home);
	await openControllerRegistry(paths).update(registry => ({...registry, agents: registry.agents.map(agent => ({...agent, address: `127.0.0.1:${port}`}))}));
	const {agents} = await openControllerRegistry(paths).read();
	return {
		context: createClientContext(loadControllerCredentials(paths)),
		records: agents,
		target: {name: 'web1', address: `127.0.0.1:${port}`},
		set(allowlist: LoadedAllowlist) {
			current = allowlist;
		},
	};
}

const hostOptions = (events: RunEvent[]) => ({context: undefined as never, connectTimeoutMs: 5000, answerGraceMs: 5000, cancel: new AbortController().signal, emit: (event: RunEvent) => events.push(event)});

test('stale plan never executes: refused as planned, described, recorded, run once with the entry as it is now (real agent)', async t => {
	const agent = await realAgent(t);
	const cached = entryOf(allowlistSaying('as cached'));
	const plan = planFor([agent.target], {web1: describedEntryDigest(cached)});
	agent.set(allowlistSaying('changed since'));
	const order: string[] = [];
	const audit = recordingAudit(order);
	const attempts: Array<string | null | undefined> = [];
	const run: RunOnHost = async (target, request, options) => {
		attempts.push(request.plannedEntries?.[target.name]);
		order.push(`run ${attempts.length}`);
		return runOnAgent(target, request, {...options, context: agent.context});
	};

	const ports: RefreshPorts = {context: agent.context, revoked: new Set(), records: agent.records, audit, now: () => new Date()};
	const stale = refreshingStalePlans(run, plan, ports);
	const events: RunEvent[] = [];
	const result = await stale.runOnHost(agent.target, agentRequest(plan), hostOptions(events));
	t.is(result.status, 'ok', result.reason);
	t.is(result.entryChanged, undefined);
	t.regex(result.stdout, /hello from hello/);
	const now = describedEntryDigest(entryOf(allowlistSaying('changed since')));
	t.deepEqual(attempts, [describedEntryDigest(cached), now], 'the planned digest, then the one described now');
	t.deepEqual(order, ['run 1', 'audit run.replanned', 'run 2'], 'recorded before it runs again');
	t.like(audit.records[0], {event: 'run.replanned', requestId: plan.requestId, agent: 'web1', script: 'hello', planned: describedEntryDigest(cached), described: now});
	t.not(audit.records[0]!['planHash'], plan.hash);
	t.is(audit.records[0]!['refused'], undefined);
	t.is(events.filter(event => event.type === 'agent-connecting').length, 1, 'one host connecting, as on a live plan');
	t.deepEqual(stale.refreshed(), ['web1']);
});

test('stale plan never executes: an entry that changes again before the second run ends the host with a clear error, no third attempt (real agent)', async t => {
	const agent = await realAgent(t);
	const plan = planFor([agent.target], {web1: describedEntryDigest(entryOf(allowlistSaying('as cached')))});
	agent.set(allowlistSaying('changed once'));
	let attempts = 0;
	const run: RunOnHost = async (target, request, options) => {
		attempts++;
		if (attempts === 2) {
			// Between the describe and the run planned from it.
			agent.set(allowlistSaying('changed twice'));
		}

		return runOnAgent(target, request, {...options, context: agent.context});
	};

	const audit = recordingAudit([]);
	const result = await refreshingStalePlans(run, plan, {context: agent.context, revoked: new Set(), records: agent.records, audit, now: () => new Date()}).runOnHost(agent.target, agentRequest(plan), hostOptions([]));
	t.is(attempts, 2);
	t.is(result.status, 'denied');
	t.is(result.entryChanged, undefined, 'not stale any more to whoever reads it: an error');
	t.regex(result.reason!, /^script hello is refused: the controller planned this run with another allowlist entry for hello on web1 \(planned [\da-f]{12}…, now [\da-f]{12}…\): its description of this agent is out of date; nothing ran \(the second time: web1 was described and planned again once already; run it again\)$/);
	t.is(audit.records.length, 1);
});

type Row = {title: string; described: Discovered; audit?: 'fails'; approval?: true; cachedHost?: false; expect: {status: AgentResult['status']; reason: RegExp; attempts: number; replanned: number}};

const now = (more: Partial<ScriptDescription> = {}): Discovered => ({name: 'web1', address: 'x', status: 'reachable', scripts: [{name: 'hello', description: 'now', timeoutSeconds: 60, ...more}], via: 'tls', checksEntry: true});
const rows: Row[] = [
	{title: 'the entry now allows fewer targets than the run has', described: now({maxTargets: 1}), expect: {status: 'denied', reason: /^refused before running anything on web1: its allowlist entry changed since it was cached, and as it is now hello allows at most 1 target at once \(maxTargets in its allowlist entry on agent web1\) and this run has 2: narrow --on, or roll out with --batch 1 or less; nothing ran$/, attempts: 1, replanned: 1}},
	{title: 'the entry now asks for confirmation the run did not have', described: now({confirm: true}), expect: {status: 'denied', reason: /^refused before running anything on web1: .* hello asks for confirmation \(confirm: true in its allowlist entry on agent web1\): pass --yes .*; nothing ran$/, attempts: 1, replanned: 1}},
	{title: 'the script is no longer on the allowlist', described: {...now(), scripts: []}, expect: {status: 'denied', reason: /^script hello is not on web1's allowlist \(it was when its description was cached\); nothing ran$/, attempts: 1, replanned: 1}},
	{title: 'the host does not answer the describe', described: {name: 'web1', address: 'x', status: 'unreachable', reason: 'connection refused', scripts: []}, expect: {status: 'unreachable', reason: /could not be asked again: connection refused; nothing ran$/, attempts: 1, replanned: 1}},
	{title: 'the re-plan cannot be recorded', described: now(), audit: 'fails', expect: {status: 'error', reason: /^its allowlist entry changed since it was cached, and planning it again could not be recorded \(ENOSPC: no space left on device\); nothing ran$/, attempts: 1, replanned: 0}},
	{title: 'an approved run is run as approved, never planned again', described: now(), approval: true, expect: {status: 'denied', reason: /out of date/, attempts: 1, replanned: 0}},
	{title: 'a host described live (no cached entry) is not planned again', described: now(), cachedHost: false, expect: {status: 'denied', reason: /out of date/, attempts: 1, replanned: 0}},
	{title: 'the entry as it is now is fine: run once more with its digest', described: now(), expect: {status: 'ok', reason: /^$/, attempts: 2, replanned: 1}},
];

for (const row of rows) {
	test(`stale plan never executes: ${row.title}`, async t => {
		const targets = [{name: 'web1', address: 'x'}, {name: 'web2', address: 'y'}];
		const plan = {...planFor(targets, {web1: 'a'.repeat(64), web2: 'b'.repeat(64)}), ...(row.cachedHost === false ? {cached: {hosts: ['web2'], confirmed: false}} : {})};
		const staleAnswer: AgentResult = {agent: 'web1', status: 'denied', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1, reason: 'script hello is refused: … its description of this agent is out of date; nothing ran', entryChanged: true};
		const sent: Array<string | null | undefined> = [];
		const run: RunOnHost = async (target, request) => {
			sent.push(request.plannedEntries?.[target.name]);
			return sent.length === 1 ? staleAnswer : {...staleAnswer, status: 'ok', reason: undefined, entryChanged: undefined} as unknown as AgentResult;
		};

		const audit = recordingAudit([], row.audit === 'fails');
		const stale = refreshingStalePlans(run, plan, {context: undefined as never, revoked: new Set(), records: [], audit, now: () => new Date(), describe: async () => row.described});
		const request = {...agentRequest(plan), ...(row.approval ? {approval: {id: 'x'} as never} : {})};
		const result = await stale.runOnHost(targets[0]!, request, hostOptions([]));
		t.is(result.status, row.expect.status);
		t.regex(result.reason ?? '', row.expect.reason);
		t.is(result.entryChanged, undefined);
		t.is(sent.length, row.expect.attempts, 'never run again unless planned again');
		if (row.expect.attempts === 2) {
			t.is(sent[1], describedEntryDigest(row.described.scripts[0]!), 'run again with the digest of the entry described now');
		}

		t.is(audit.records.length, row.expect.replanned);
		if (row.expect.replanned > 0 && row.expect.status !== 'ok') {
			t.is(audit.records[0]!['refused'], result.reason, 'the record says why it was not run');
		}
	});
}

test('the refreshed hosts\' cache entries are replaced in one write when the run is over, not one per host', async t => {
	const targets = [{name: 'web1', address: 'x'}, {name: 'web2', address: 'y'}, {name: 'web3', address: 'z'}];
	const plan = planFor(targets, {web1: 'a'.repeat(64), web2: 'b'.repeat(64), web3: 'c'.repeat(64)});
	const records = targets.map(target => ({...target, tags: {}, serial: `0${target.name}`, fingerprint: 'f'.repeat(64), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z'}));
	const old = {serial: 'x', address: 'x', at: '2026-01-01T00:00:00.000Z', scripts: [{name: 'hello', description: 'old', timeoutSeconds: 60}]};
	let cache = {version: 1 as const, agents: {web1: {...old, serial: '0web1'}, web2: {...old, serial: '0web2'}, web3: {...old, serial: '0web3'}}};
	let writes = 0;
	const descriptions = {read: () => cache, change(change: (content: typeof cache) => typeof cache) {
		writes++;
		cache = change(cache) as typeof cache;
	}};
	const run: RunOnHost = async (target, request) => ({agent: target.name, status: request.plannedEntries?.[target.name] === plan.entries?.[target.name] && target.name !== 'web3' ? 'denied' : 'ok', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 1, ...(request.plannedEntries?.[target.name] === plan.entries?.[target.name] && target.name !== 'web3' ? {entryChanged: true as const} : {})});
	const stale = refreshingStalePlans(run, plan, {context: undefined as never, revoked: new Set(), records, audit: recordingAudit([]), now: () => new Date('2026-12-08T02:00:00.000Z'), descriptions: descriptions as never, describe: async target => ({...now(), name: target.name})});
	const results = await Promise.all(targets.map(async target => stale.runOnHost(target, agentRequest(plan), hostOptions([]))));
	t.deepEqual(results.map(result => result.status), ['ok', 'ok', 'ok']);
	t.is(writes, 0, 'nothing written while the run goes on');
	stale.remember();
	t.is(writes, 1);
	t.deepEqual(Object.fromEntries(Object.entries(cache.agents).map(([name, agent]) => [name, agent.scripts[0]!.description])), {web1: 'now', web2: 'now', web3: 'old'});
	t.deepEqual(stale.refreshed().sort(), ['web1', 'web2']);
});
