/**
 * Verifies a log kept in several files (rotated by size), oldest first: each file with `verifyLog`,
 * starting from the head the file before it ended with, and each file after the first opening
 * with a carry-over record that names the file before it, its last hash, record count and byte
 * size. A deleted first or middle file, files renamed out of order, a rotated file changed after
 * it rotated and an edited carry-over each give an exact verdict naming the file and line. Pure.
 */
import {safeJsonParse} from '../protocol/safe-json.js';
import {recordHash, type AuditRecord} from './record.js';
import {verifyLog, type Problem, type VerifyOptions} from './verify.js';

export type LogFile = {
	/** The file's name, as a carry-over record names its predecessor (`agent.jsonl.3`). */
	name: string;
	/** What to call the file in a verdict (its path). */
	label: string;
	lines: readonly string[];
	bytes: number;
};

export type SetVerdict =
	| {ok: true; files: number; records: number; lastCheckpoint: number | undefined; head: {seq: number; hash: string} | undefined; warnings: string[]; checkpoints: Array<{seq: number; hash: string}>}
	| {ok: false; file: string; line: number; problem: Problem; detail: string; records: number};

type CarryOver = AuditRecord & {previousFile: string; previousHead: string; previousSize: number; previousBytes: number};

export function verifyLogSet(files: readonly LogFile[], options: Pick<VerifyOptions, 'verifier'> = {}): SetVerdict {
	let start: {seq: number; hash: string} | undefined;
	let records = 0;
	let lastCheckpoint: number | undefined;
	const warnings: string[] = [];
	const checkpoints: Array<{seq: number; hash: string}> = [];
	const names = new Set(files.map(file => file.name));

	for (const [index, file] of files.entries()) {
		const fail = (line: number, problem: Problem, detail: string): SetVerdict => ({ok: false, file: file.label, line, problem, detail, records});
		const previous = files[index - 1];
		const carry = intactCarryOver(file.lines);
		const connects = carry !== undefined && start !== undefined && carry.seq === start.seq + 1 && carry.prev === start.hash;
		if (carry && !connects && carry.previousFile !== previous?.name) {
			// The file it continues is not the one before it here: deleted, or the files were renamed.
			const what = `${file.name} continues ${carry.previousFile} (records up to ${carry.previousSize - 1}, head ${carry.previousHead.slice(0, 12)}…)`;
			return names.has(carry.previousFile)
				? fail(1, 'files reordered', `${what}, which does not come just before it: the files were renamed or reordered`)
				: fail(1, 'missing file', `${what}, which is missing${previous ? ` (the file before it here is ${previous.name})` : ''}`);
		}

		if (carry && previous && carry.previousFile === previous.name && carry.previousBytes !== previous.bytes) {
			return fail(1, 'bad carry-over', `${previous.name} is ${previous.bytes} bytes, but ${file.name} says it was ${carry.previousBytes} when it rotated: one of them was changed`);
		}

		const verdict = verifyLog(file.lines, {...options, ...(start ? {start} : {})});
		if (!verdict.ok) {
			return {...verdict, file: file.label, records: records + verdict.records};
		}

		if (previous && verdict.records > 0 && carry?.previousFile !== previous.name) {
			return fail(1, 'bad carry-over', carry ? `${file.name} says it continues ${carry.previousFile}, but follows ${previous.name}` : `${file.name} does not open with a carry-over record naming ${previous.name}`);
		}

		const prefix = files.length > 1 ? `${file.name}: ` : '';
		// Only the last file's unsealed tail is news; an earlier file ends where the next one starts.
		warnings.push(...verdict.warnings.filter(warning => index === files.length - 1 || !warning.includes('not sealed yet')).map(warning => prefix + warning));
		records += verdict.records;
		checkpoints.push(...verdict.checkpoints);
		lastCheckpoint = verdict.lastCheckpoint ?? lastCheckpoint;
		start = verdict.head ?? start;
	}

	return {ok: true, files: files.length, records, lastCheckpoint, head: start, warnings, checkpoints};
}

/** The file's first record when it is a carry-over whose own hash is intact (an edited one is verifyLog's to report). */
function intactCarryOver(lines: readonly string[]): CarryOver | undefined {
	const first = lines.find(line => line.length > 0);
	const parsed = safeJsonParse(first ?? '', 32);
	if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) {
		return undefined;
	}

	const record = parsed.value as Partial<CarryOver>;
	if (record.event !== 'log.continued' || typeof record.previousFile !== 'string' || typeof record.previousHead !== 'string' || typeof record.previousSize !== 'number' || typeof record.previousBytes !== 'number') {
		return undefined;
	}

	const {hash, ...withoutHash} = record as CarryOver;
	return recordHash(withoutHash) === hash ? (record as CarryOver) : undefined;
}
