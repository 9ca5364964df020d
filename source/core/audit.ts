/**
 * The audit trail's use cases, for every face (both CLIs, the console, the REST API): list records
 * by request, agent and age; verify a log's chain and checkpoints and its head against the anchor
 * the writer keeps beside it (anchor.ts); check agents' logs against the controller's (--cross).
 * They return data; the faces word it (output/audit-text.ts).
 */
import {existsSync} from 'node:fs';
import {basename} from 'node:path';
import {checkAnchor, type Anchor} from '../audit/anchor.js';
import {readNotedAnchor} from '../audit/anchor-file.js';
import type {CheckpointVerifier} from '../audit/checkpoint.js';
import {crossVerify} from '../audit/cross-verify.js';
import {readAuditRecords, readAuditSet} from '../audit/read-log.js';
import {parseRecords, type AuditRecord} from '../audit/record.js';
import type {AgentLogVerdict, AuditVerification} from '../audit/verification.js';
import {verifyLogSet} from '../audit/verify-set.js';
import {XiError} from '../errors.js';
import {verdictLine} from '../output/audit-text.js';

export type AuditFilter = {request?: string | undefined; agent?: string | undefined; since?: string | undefined};

/** `30m`, `1h`, `7d` before `now`. */
export function parseSince(text: string, now: Date): Date {
	const match = /^(\d+)([smhd])$/.exec(text);
	if (!match) {
		throw new XiError('USAGE', `since ${JSON.stringify(text)} must be a number and a unit, like 30m, 1h or 7d.`);
	}

	const unit = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}[match[2] as 's' | 'm' | 'h' | 'd'];
	return new Date(now.getTime() - (Number(match[1]) * unit));
}

/** The records of the log at `path` that match every part of the filter, oldest first. */
export function listAuditRecords(path: string, filter: AuditFilter, now: Date): AuditRecord[] {
	const since = filter.since === undefined ? undefined : parseSince(filter.since, now);
	return readAuditRecords(path).filter(record =>
		(filter.request === undefined || record['requestId'] === filter.request)
		&& (filter.agent === undefined || record['agent'] === filter.agent)
		&& (since === undefined || new Date(record.ts) >= since));
}

/**
 * For a cross check: the checkpoint verifier of the agent a log names (from the certificate the
 * registry keeps for it), or why there is none.
 */
export type AgentVerifierLookup = (agent: string) => CheckpointVerifier | string;

export type CrossCheck = {agentLogs: readonly string[]; agentVerifier: AgentVerifierLookup};

/**
 * The log's chain and checkpoints, then its head against the anchor file at `anchorPath` (a
 * deleted, emptied or cut-off log is broken); with `cross`, each agent log too, and each against
 * the last head of it the controller witnessed.
 */
export function verifyAudit(path: string, verifier: CheckpointVerifier, cross?: CrossCheck, anchorPath?: string): AuditVerification {
	// The anchor before the log: a live writer (a server, an agent) fsyncs its records before it
	// writes the anchor naming them, so an anchor read first names a record the log read after has.
	const anchorRead = anchorPath === undefined ? undefined : readNotedAnchor(anchorPath);
	const files = readAuditSet(path);
	const verdict = verifyLogSet(files, {verifier});
	if (!verdict.ok) {
		return {path, verdict};
	}

	const anchor = anchorPath === undefined
		? undefined
		: checkAnchor({exists: existsSync(path), records: parseRecords(files.flatMap(file => file.lines))}, anchorRead?.anchor, basename(anchorPath), anchorRead?.note);
	if ((anchor && !anchor.ok) || !cross) {
		return {path, verdict, ...(anchor ? {anchor} : {})};
	}

	const controllerRecords = readAuditRecords(path);
	const checked = cross.agentLogs.map(file => verifyAgentLog(file, controllerRecords, cross.agentVerifier));
	const problems = crossVerify(controllerRecords, checked.flatMap(log => log.records === undefined ? [] : [{agent: log.agent, records: log.records}]));
	return {path, verdict, ...(anchor ? {anchor} : {}), cross: {agents: checked.map(log => log.result), problems}};
}

function verifyAgentLog(file: string, controller: readonly AuditRecord[], lookup: AgentVerifierLookup): {result: AgentLogVerdict; agent: string; records?: AuditRecord[]} {
	const files = readAuditSet(file);
	const records = parseRecords(files.flatMap(agentFile => agentFile.lines));
	if (records.length === 0) {
		// An agent writes agent.started before anything else: its log is never empty once it ran.
		return {result: {file, missing: existsSync(file) ? 'emptied' : 'deleted'}, agent: file};
	}

	const name = records.find(record => typeof record['agent'] === 'string')?.['agent'];
	const agent = typeof name === 'string' ? name : undefined;
	const witnessed = agent === undefined ? undefined : lastWitnessedHead(controller, agent);
	const cut = witnessed ? checkAnchor({exists: true, records}, witnessed, `the controller's witness of ${agent!}`) : undefined;
	const agentVerifier = agent === undefined ? `${file} names no agent in any record` : lookup(agent);
	const checked = typeof agentVerifier === 'string' ? {problem: agentVerifier} : {verdict: verifyLogSet(files, {verifier: agentVerifier})};
	return {result: {file, agent: agent ?? file, ...(cut && !cut.ok ? {cut} : {}), ...checked}, agent: agent ?? file, records};
}

/** The last head of an agent's log the controller recorded (in a run's outcome), as an anchor. */
function lastWitnessedHead(controller: readonly AuditRecord[], agent: string): Anchor | undefined {
	for (let index = controller.length - 1; index >= 0; index--) {
		const record = controller[index]!;
		const head = record['agentHead'] as {log?: unknown; seq?: unknown; hash?: unknown} | undefined;
		if (record['agent'] === agent && head && typeof head.log === 'string' && typeof head.seq === 'number' && head.seq > 0 && typeof head.hash === 'string') {
			// A witnessed head {seq: N, hash} states record N-1's hash (a checkpoint over N records).
			return {version: 1, log: head.log, seq: head.seq - 1, hash: head.hash, at: record.ts};
		}
	}

	return undefined;
}

/** The console's audit screen: the most recent records (of one request, when asked) and the chain's status. */
export function auditView(path: string, verifier: CheckpointVerifier, query: {requestId?: string; limit: number}): {records: AuditRecord[]; matching: number; chain: {ok: boolean; text: string; warnings: string[]}} {
	const files = readAuditSet(path);
	const verdict = verifyLogSet(files, {verifier});
	const matching = parseRecords(files.flatMap(file => file.lines)).filter(record => query.requestId === undefined || record['requestId'] === query.requestId);
	return {
		records: matching.slice(-query.limit),
		matching: matching.length,
		chain: {ok: verdict.ok, text: verdictLine('', verdict), warnings: verdict.ok ? verdict.warnings : []},
	};
}
