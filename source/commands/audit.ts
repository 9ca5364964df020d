/**
 * `audit` and `audit verify`, for both executables: list records (filtered by request, agent, age)
 * and verify a log's chain and checkpoints, or check two sides against each other (--cross).
 */
import {existsSync, readFileSync} from 'node:fs';
import {XiError} from '../errors.js';
import type {CheckpointVerifier} from '../audit/checkpoint.js';
import {crossVerify} from '../audit/cross-verify.js';
import {parseRecords, type AuditRecord} from '../audit/record.js';
import {verifyLog} from '../audit/verify.js';
import {visible} from '../output/visible.js';
import type {CommandIo} from './run.js';

export type AuditFilter = {request?: string; agent?: string; since?: string};

export function parseSince(text: string, now: Date): Date {
	const match = /^(\d+)([smhd])$/.exec(text);
	if (!match) {
		throw new XiError('USAGE', `--since ${JSON.stringify(text)} must be a number and a unit, like 30m, 1h or 7d.`);
	}

	const unit = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}[match[2] as 's' | 'm' | 'h' | 'd'];
	return new Date(now.getTime() - (Number(match[1]) * unit));
}

export function readAuditLines(path: string): string[] {
	let text: string;
	try {
		text = readFileSync(path, 'utf8');
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT') {
			return [];
		}

		throw new XiError('CONFIG_INVALID', `Cannot read the audit log ${path} (${code ?? (error as Error).message}).`, {cause: error});
	}

	const lines = text.split('\n');
	if (lines.at(-1) === '') {
		lines.pop();
	}

	return lines;
}

export function auditListCommand(path: string, input: AuditFilter & {json: boolean}, io: CommandIo, now = new Date()): number {
	const since = input.since === undefined ? undefined : parseSince(input.since, now);
	const records = parseRecords(readAuditLines(path)).filter(record =>
		(input.request === undefined || record['requestId'] === input.request)
		&& (input.agent === undefined || record['agent'] === input.agent)
		&& (since === undefined || new Date(record.ts) >= since));
	if (input.json) {
		io.stdout(JSON.stringify({records}) + '\n');
		return 0;
	}

	for (const record of records) {
		io.stdout(formatRecord(record) + '\n');
	}

	if (records.length === 0) {
		io.stdout(`No audit records${input.request || input.agent || input.since ? ' match' : ' yet'} (${path}).\n`);
	}

	return 0;
}

const shown = ['requestId', 'agent', 'script', 'caller', 'status', 'exitCode', 'reason', 'source'];

export function formatRecord(record: AuditRecord): string {
	const details = shown.filter(key => record[key] !== undefined && record[key] !== null).map(key => `${key}=${JSON.stringify(record[key])}`);
	return visible(`${record.ts} #${record.seq} ${record.event} ${details.join(' ')}`);
}

export function auditVerifyCommand(path: string, verifier: CheckpointVerifier, io: CommandIo, cross?: {agentLogs: string[]}): number {
	const lines = readAuditLines(path);
	const verdict = verifyLog(lines, {verifier});
	if (!verdict.ok) {
		io.stdout(`broken: ${path} line ${verdict.line}: ${verdict.problem}: ${verdict.detail}\n`);
		return 1;
	}

	for (const warning of verdict.warnings) {
		io.stdout(`warning: ${warning}\n`);
	}

	io.stdout(`ok: ${verdict.records} records, chain intact, last checkpoint at ${verdict.lastCheckpoint ?? 'none'}\n`);
	if (!cross) {
		return 0;
	}

	const agents = cross.agentLogs.map(file => {
		if (!existsSync(file)) {
			throw new XiError('USAGE', `--cross ${file}: no such agent log; copy each agent's audit log (XI_EXEC_AGENT_HOME/audit/agent.jsonl) here first.`);
		}

		const agentLines = readAuditLines(file);
		const agentVerdict = verifyLog(agentLines);
		io.stdout(agentVerdict.ok ? `ok: ${file}: ${agentVerdict.records} records, chain intact\n` : `broken: ${file} line ${agentVerdict.line}: ${agentVerdict.problem}: ${agentVerdict.detail}\n`);
		const records = parseRecords(agentLines);
		const name = records.find(record => typeof record['agent'] === 'string')?.['agent'];
		return {agent: typeof name === 'string' ? name : file, records};
	});
	const problems = crossVerify(parseRecords(lines), agents);
	for (const problem of problems) {
		io.stdout(`cross: ${visible(problem.problem)}\n`);
	}

	io.stdout(problems.length === 0 ? `cross: ok, ${agents.length} agent ${agents.length === 1 ? 'log' : 'logs'} agree with the controller\n` : `cross: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}\n`);
	return problems.length === 0 ? 0 : 1;
}
