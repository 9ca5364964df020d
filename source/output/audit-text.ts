/** How audit records and verdicts read as text, in the CLI of both executables and the console. */
import type {AuditRecord} from '../audit/record.js';
import type {AgentLogVerdict, AuditVerification} from '../audit/verification.js';
import type {SetVerdict} from '../audit/verify-set.js';
import {safeJson, visible} from './visible.js';

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

type Print = (text: string) => void;

/** `audit`: one line per record, or why there are none. */
export function printAuditRecords(records: readonly AuditRecord[], options: {json: boolean; filtered: boolean; path: string}, print: Print): void {
	if (options.json) {
		print(safeJson({records}) + '\n');
		return;
	}

	for (const record of records) {
		print(formatRecord(record) + '\n');
	}

	if (records.length === 0) {
		print(`No audit records${options.filtered ? ' match' : ' yet'} (${options.path}).\n`);
	}
}

/**
 * `audit verify`: the verdict (and the anchor's), each agent log's, the cross problems, worded as
 * lines; the exit status is 1 when anything is broken.
 */
export function printAuditVerification(result: AuditVerification, print: Print): number {
	const {verdict, anchor, cross} = result;
	if (!verdict.ok) {
		print(verdictLine('', verdict) + '\n');
		return 1;
	}

	for (const warning of verdict.warnings) {
		print(`warning: ${visible(warning)}\n`);
	}

	if (anchor && !anchor.ok) {
		print(visible(`broken: ${result.path}: ${anchor.problem}: ${anchor.text}`) + '\n');
		return 1;
	}

	print(verdictLine('', verdict) + '\n' + (anchor ? `anchor: ${visible(anchor.text)}\n` : ''));
	return cross ? printCross(cross, print) : 0;
}

function printCross(cross: NonNullable<AuditVerification['cross']>, print: Print): number {
	let broken = 0;
	for (const log of cross.agents) {
		broken += printAgentLog(log, print);
	}

	for (const problem of cross.problems) {
		print(`cross: ${visible(problem.problem)}\n`);
	}

	const count = cross.agents.filter(log => !('missing' in log)).length;
	print(cross.problems.length === 0
		? `cross: ok, ${count} agent ${count === 1 ? 'log' : 'logs'} agree with the controller\n`
		: `cross: ${cross.problems.length} ${cross.problems.length === 1 ? 'problem' : 'problems'}\n`);
	if (broken > 0) {
		print(`cross: ${broken} agent ${broken === 1 ? 'log is' : 'logs are'} broken\n`);
	}

	return cross.problems.length === 0 && broken === 0 ? 0 : 1;
}

/** One agent log's lines; 1 when they report it broken (cut off, chain or checkpoints), else 0. */
function printAgentLog(log: AgentLogVerdict, print: Print): number {
	if ('missing' in log) {
		print(visible(log.missing === 'emptied'
			? `broken: ${log.file}: log emptied: it has no records, and an agent's log is never empty once it has started`
			: `broken: ${log.file}: log deleted: there is no such file (deleted, or not copied here: copy XI_EXEC_AGENT_HOME/audit/agent.jsonl with its rotated files agent.jsonl.N)`) + '\n');
		return 1;
	}

	if (log.cut) {
		print(visible(`broken: ${log.file}: ${log.cut.problem}: ${log.cut.text}`) + '\n');
	}

	if ('problem' in log) {
		print(visible(`broken: ${log.file}: cannot check its checkpoint signatures: ${log.problem}`) + '\n');
		return 1;
	}

	for (const warning of log.verdict.ok ? log.verdict.warnings : []) {
		print(`warning: ${visible(log.file)}: ${visible(warning)}\n`);
	}

	print(verdictLine(log.verdict.ok ? log.file : '', log.verdict) + '\n');
	return log.cut || !log.verdict.ok ? 1 : 0;
}

/** `audit verify [--json]`: the verification worded as lines, or as one JSON report of the same words; the exit status. */
export function writeAuditVerification(result: AuditVerification, options: {json?: boolean}, print: Print): number {
	if (!options.json) {
		return printAuditVerification(result, print);
	}

	const lines: string[] = [];
	const code = printAuditVerification(result, text => lines.push(...text.split('\n').filter(line => line !== '')));
	print(`${JSON.stringify(verifyReport(code === 0, lines))}\n`);
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
