/**
 * One real agent with one allowlisted script, `restart`, spoken to in raw mutual-TLS frames as the
 * controller speaks to it: what it describes (and so the entry digest a controller puts in an
 * approved plan, run/entry-digest.ts), a run with or without a two-person approval, and what that
 * run left in the agent's own audit file. For the tables of what may happen to an entry between
 * an approval and its run (test/approvals/agent-entry.test.ts, test/agent/file-identity.test.ts).
 */
import {randomUUID} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {AllowlistEntry} from '../../agent/allowlist.js';
import {agentPaths, readAgentConfig, readAllowlistFile, writeAgentConfig, writeAllowlistFile} from '../../agent/home.js';
import {decodeResponse} from '../../source/protocol/decode.js';
import type {ApprovalClaim} from '../../source/protocol/frames.js';
import {entryDigests} from '../../source/run/entry-digest.js';
import {localPolicyHook} from '../api/api-fleet.js';
import {controllerCredentials, createController, enrolAgent, freePort, installScript, logEvents, rawExchange, requestLine, startAgent, waitFor, type RunningAgent, type TestAgent} from './fleet.js';

export const approvalId = '7c1e0000-0000-4000-8000-0000000000a1';
const planHash = 'e'.repeat(64);

/** An approval as a run carries it; without `entryDigest`, one that names none. */
export const claim = (entryDigest?: string): ApprovalClaim => ({id: approvalId, approvers: ['lead-bob'], at: '2026-12-06T12:00:00.000Z', planHash, ...(entryDigest === undefined ? {} : {entryDigest})});

export type Host = {controller: string; agent: TestAgent; running: RunningAgent; script: string};

export type HostOptions = {
	/** The script's text; by default a `#!/usr/bin/env dash` script with its entry naming /usr/bin/dash. */
	body?: string;
	/** The agent's own policy: restart only in a run that carries a two-person approval. */
	insist?: boolean;
	/** An executable auth hook, a `#!/usr/bin/env node` script. */
	hook?: string;
};

/** An agent `db1` with `restart` on its allowlist, started; stopped when the test ends. */
export async function host(t: {teardown: (fn: () => Promise<void>) => void}, options: HostOptions = {}): Promise<Host> {
	const controller = await createController();
	const script = installScript('restart', options.body ?? '#!/usr/bin/env dash\necho "restarted $*"\n');
	const agent = await enrolAgent(controller, {name: 'db1', port: freePort()});
	const paths = agentPaths(agent.home);
	writeAllowlistFile(paths, {scripts: {restart: {path: script, description: 'restart', timeoutSeconds: 30, ...(options.body === undefined ? {interpreter: '/usr/bin/dash'} : {})}}});
	if (options.insist) {
		writeFileSync(join(agent.home, 'policy.json'), JSON.stringify({rules: [{name: 'two people', effect: 'allow', callers: ['*'], scripts: ['restart'], approved: true}]}));
	}

	const hook = options.hook ?? (options.insist ? localPolicyHook : undefined);
	if (hook) {
		writeAgentConfig(paths, {...readAgentConfig(paths), hook, hookInterpreter: process.execPath});
	}

	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	return {controller, agent, running, script};
}

/** What the controller takes into the plan for this host: the digest of its described entry. */
export async function approvedDigest(target: Host): Promise<string> {
	const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'describe'})]});
	const decoded = decodeResponse(JSON.stringify(reply.frames[0]));
	if (!decoded.ok || decoded.frame.type !== 'description') {
		throw new Error(`no description: ${JSON.stringify(reply.frames)}`);
	}

	const digest = entryDigests('restart', [{name: 'db1'}], [{name: 'db1', status: 'reachable', scripts: decoded.frame.scripts}])['db1'];
	if (typeof digest !== 'string') {
		throw new TypeError('db1 described no restart entry');
	}

	return digest;
}

/** SIGHUP, and wait until the agent says the allowlist is reloaded. */
export async function reload(target: Host): Promise<void> {
	const from = target.running.lines.length;
	target.running.process.kill('SIGHUP');
	await waitFor(() => logEvents(target.running, 'allowlist.reloaded', from)[0], 'the agent to reload');
}

export function editEntry(target: Host, change: (entry: AllowlistEntry) => AllowlistEntry | undefined): void {
	const paths = agentPaths(target.agent.home);
	const file = readAllowlistFile(paths);
	const changed = change({...file.scripts['restart']!});
	const {restart: _restart, ...others} = file.scripts;
	writeAllowlistFile(paths, {scripts: changed ? {...others, restart: changed} : others});
}

export type Outcome = {status: string; stdout: string; reason: string | undefined; error: unknown; records: Array<Record<string, unknown>>};

/** `restart now` as api:lead-alice, with `approval` when given: the result, the output and this request's agent audit records. */
export async function run(target: Host, approval: unknown): Promise<Outcome> {
	const id = randomUUID();
	const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'run', id, script: 'restart', args: ['now'], caller: 'api:lead-alice', ...(approval === undefined ? {} : {approval})})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	const lines = readFileSync(agentPaths(target.agent.home).auditLog, 'utf8').split('\n').slice(0, -1);
	return {
		status: String(result?.['status']),
		stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => frame['data'] as string).join(''),
		reason: result?.['reason'] as string | undefined,
		error: reply.frames.find(frame => frame['type'] === 'error'),
		records: lines.map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === id),
	};
}
