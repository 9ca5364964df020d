/**
 * `audit` and `audit verify`, for both executables: list records (filtered by request, agent, age)
 * and verify a log's chain and checkpoints, or check two sides against each other (--cross). A
 * log is the current file and the files rotated out of it (log-files.ts), read oldest first.
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {basename} from 'node:path';
import {XiError} from '../errors.js';
import type {CheckpointVerifier} from '../audit/checkpoint.js';
import {checkAnchor, type Anchor} from '../audit/anchor.js';
import {readAnchor} from '../audit/anchor-file.js';
import {crossVerify} from '../audit/cross-verify.js';
import {logFileSet} from '../audit/log-files.js';
import {parseRecords, type AuditRecord} from '../audit/record.js';
import {verifyLogSet, type LogFile, type SetVerdict} from '../audit/verify-set.js';
import {safeJson, visible} from '../output/visible.js';
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

/** Every file of the log at `path` (rotated files first), as verifyLogSet reads them. */
export function readAuditSet(path: string): LogFile[] {
	return logFileSet(path).filter(file => file === path || existsSync(file)).map(file => ({name: basename(file), label: file, lines: readAuditLines(file), bytes: fileBytes(file)}));
}

/** The records of every file of the log, oldest first. */
export function readAuditRecords(path: string): AuditRecord[] {
	return parseRecords(readAuditSet(path).flatMap(file => file.lines));
}

function fileBytes(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		return 0;
	}
}

export function auditListCommand(path: string, input: AuditFilter & {json: boolean}, io: CommandIo, now = new Date()): number {
	const since = input.since === undefined ? undefined : parseSince(input.since, now);
	const records = readAuditRecords(path).filter(record =>
		(input.request === undefined || record['requestId'] === input.request)
		&& (input.agent === undefined || record['agent'] === input.agent)
		&& (since === undefined || new Date(record.ts) >= since));
	if (input.json) {
		io.stdout(safeJson({records}) + '\n');
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

/** The status line of a verdict: `ok: N records, chain intact, last checkpoint at N`, or the first break. */
export function verdictLine(label: string, verdict: SetVerdict): string {
	if (!verdict.ok) {
		return visible(`broken: ${verdict.file} line ${verdict.line}: ${verdict.problem}: ${verdict.detail}`);
	}

	return `ok: ${verdict.records} records, chain intact, last checkpoint at ${verdict.lastCheckpoint ?? 'none'}${verdict.files > 1 ? ` (${verdict.files} files)` : ''}${label ? ` (${visible(label)})` : ''}`;
}

/**
 * For `--cross`: the checkpoint verifier of the agent a log names (from the certificate the
 * registry keeps for it), or why there is none.
 */
export type AgentVerifierLookup = (agent: string) => CheckpointVerifier | string;

/**
 * `audit verify`: the log's chain and checkpoints, then its head against the anchor file the
 * writer keeps beside it (`anchorPath`; anchor.ts): a deleted, emptied or cut-off log is broken
 * (exit 1), and an ok line says what it is anchored to. With `cross`, each agent log too, and
 * each against the last head of it the controller witnessed.
 */
export function auditVerifyCommand(path: string, verifier: CheckpointVerifier, io: CommandIo, cross?: {agentLogs: string[]; agentVerifier: AgentVerifierLookup}, anchorPath?: string, options: {json?: boolean} = {}): number {
	if (!options.json) {
		return verifyAudit(path, verifier, io, cross, anchorPath);
	}

	const lines: string[] = [];
	const code = verifyAudit(path, verifier, {...io, stdout: text => lines.push(...text.split('\n').filter(line => line !== ''))}, cross, anchorPath);
	io.stdout(`${JSON.stringify(verifyReport(code === 0, lines))}\n`);
	return code;
}

/**
 * `audit verify --json`: the verdict lines, sorted by what they say: `{"ok", "verdicts": ["ok: …" or
 * "broken: …"], "anchor"?, "warnings": [...], "cross": [...]}` (the same words as the plain lines).
 */
export function verifyReport(ok: boolean, lines: readonly string[]): {ok: boolean; verdicts: string[]; anchor?: string; warnings: string[]; cross: string[]} {
	const starting = (prefix: string) => lines.filter(line => line.startsWith(prefix));
	const anchor = starting('anchor: ')[0];
	return {
		ok,
		verdicts: lines.filter(line => line.startsWith('ok: ') || line.startsWith('broken: ') || line.startsWith('not anchored')),
		...(anchor === undefined ? {} : {anchor: anchor.slice('anchor: '.length)}),
		warnings: starting('warning: ').map(line => line.slice('warning: '.length)),
		cross: starting('cross: ').map(line => line.slice('cross: '.length)),
	};
}

function verifyAudit(path: string, verifier: CheckpointVerifier, io: CommandIo, cross?: {agentLogs: string[]; agentVerifier: AgentVerifierLookup}, anchorPath?: string): number {
	const files = readAuditSet(path);
	const verdict = verifyLogSet(files, {verifier});
	if (!verdict.ok) {
		io.stdout(verdictLine('', verdict) + '\n');
		return 1;
	}

	for (const warning of verdict.warnings) {
		io.stdout(`warning: ${visible(warning)}\n`);
	}

	if (anchorPath === undefined) {
		io.stdout(verdictLine('', verdict) + '\n');
	} else {
		const anchored = checkAnchor({exists: existsSync(path), records: parseRecords(files.flatMap(file => file.lines))}, readAnchor(anchorPath), basename(anchorPath));
		if (!anchored.ok) {
			io.stdout(visible(`broken: ${path}: ${anchored.problem}: ${anchored.text}`) + '\n');
			return 1;
		}

		io.stdout(`${verdictLine('', verdict)}\nanchor: ${visible(anchored.text)}\n`);
	}

	if (!cross) {
		return 0;
	}

	const controllerRecords = readAuditRecords(path);
	let broken = 0;
	const agents = cross.agentLogs.flatMap(file => {
		const agentFiles = readAuditSet(file);
		const records = parseRecords(agentFiles.flatMap(agentFile => agentFile.lines));
		if (records.length === 0) {
			// An agent writes agent.started before anything else: its log is never empty once it ran.
			broken++;
			io.stdout(visible(existsSync(file)
				? `broken: ${file}: log emptied: it has no records, and an agent's log is never empty once it has started`
				: `broken: ${file}: log deleted: there is no such file (deleted, or not copied here: copy XI_EXEC_AGENT_HOME/audit/agent.jsonl with its rotated files agent.jsonl.N)`) + '\n');
			return [];
		}

		const name = records.find(record => typeof record['agent'] === 'string')?.['agent'];
		const agent = typeof name === 'string' ? name : undefined;
		const witnessed = agent === undefined ? undefined : lastWitnessedHead(controllerRecords, agent);
		const cut = witnessed ? checkAnchor({exists: true, records}, witnessed, `the controller's witness of ${agent!}`) : undefined;
		if (cut && !cut.ok) {
			broken++;
			io.stdout(visible(`broken: ${file}: ${cut.problem}: ${cut.text}`) + '\n');
		}

		const agentVerifier = agent === undefined ? `${file} names no agent in any record` : cross.agentVerifier(agent);
		if (typeof agentVerifier === 'string') {
			broken++;
			io.stdout(visible(`broken: ${file}: cannot check its checkpoint signatures: ${agentVerifier}`) + '\n');
		} else {
			const agentVerdict = verifyLogSet(agentFiles, {verifier: agentVerifier});
			for (const warning of agentVerdict.ok ? agentVerdict.warnings : []) {
				io.stdout(`warning: ${visible(file)}: ${visible(warning)}\n`);
			}

			io.stdout(verdictLine(agentVerdict.ok ? file : '', agentVerdict) + '\n');
			broken += agentVerdict.ok ? 0 : 1;
		}

		return [{agent: agent ?? file, records}];
	});
	const problems = crossVerify(controllerRecords, agents);
	for (const problem of problems) {
		io.stdout(`cross: ${visible(problem.problem)}\n`);
	}

	io.stdout(problems.length === 0 ? `cross: ok, ${agents.length} agent ${agents.length === 1 ? 'log' : 'logs'} agree with the controller\n` : `cross: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}\n`);
	if (broken > 0) {
		io.stdout(`cross: ${broken} agent ${broken === 1 ? 'log is' : 'logs are'} broken\n`);
	}

	return problems.length === 0 && broken === 0 ? 0 : 1;
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
