/**
 * A relay run's result, kept for a status question after a restart without a write of its own.
 * The audit record that ends a run (`run.finish`, `run.refused`, or the `decision` of a dry run or
 * a denial) is on the disk, fsynced, before the result is sent (execute-run.ts: audit before
 * action). Over the relay that record also names the place the result takes in the run's reply
 * chain (`relayReply`: the run request's hash, the reply's sequence number, the hash of the reply
 * before it), and the result follows from the record alone (`resultOfRecord`). So after a restart
 * the agent seals the result again from its audit log, in the same place of the same chain: the
 * controller's chain check still shows a reply lost before it as a gap. What it carries as
 * `agentHead` is the log's signed head when it is sealed again, later than the run's end, so the
 * controller's witness still covers the run's records.
 *
 * The record stands in for the result only when it says exactly what the result said: as each
 * result is sealed, `covers` checks that the record reached the disk, that the result takes the
 * place it names, and that the result rebuilt from it is the result sent (but its head). Anything
 * else (an internal error, a refusal naming a changed entry, an acknowledgement sent between the
 * record and the result) is kept as before, appended to `relay-results` and fsynced
 * (relay-results-file.ts). Pure but for `endRecordsInLog`, which reads the log.
 */
import {readFileSync} from 'node:fs';
import {logFileSet} from '../source/audit/log-files.js';
import {canonicalJson} from '../source/protocol/canonical-json.js';
import {requestIdPattern, type ResultFrame} from '../source/protocol/frames.js';
import type {ReplyBody} from '../source/protocol/relay-envelope.js';
import type {AgentRecorder} from './run-context.js';
import {dryRunAnswer, noHookReason, notRun, resultFrame} from './run-exchange.js';
import type {ScriptOutcome} from './run-script.js';

/** Where a reply sits in its chain: the request's hash, the reply's sequence number, the hash of the reply before it. */
export type ChainPlace = {req: string; seq: number; prev: string};

/** An audit record that may end its run, and the place its result takes in the run's chain. */
export type EndRecord = {event: string; fields: Record<string, unknown>; place: ChainPlace};

/** The field of the audit record that names the result's place. */
export const placeField = 'relayReply';

/** Whether a run's record may be its last before its result: the run's end, a refusal, a dry run's decision or a denial. */
function mayEnd(event: string, fields: Record<string, unknown>): boolean {
	return event === 'run.finish' || event === 'run.refused' || (event === 'decision' && (fields['dryRun'] === true || fields['allowed'] === false));
}

/** The result (without its head) of a run whose last record is this one; undefined when it is not such a record. Pure. */
export function resultOfRecord(event: string, fields: Record<string, unknown>): Omit<ResultFrame, 'v' | 'agentHead'> | undefined {
	const id = fields['requestId'];
	const reason = fields['reason'];
	if (typeof id !== 'string' || (reason !== undefined && typeof reason !== 'string')) {
		return undefined;
	}

	const status = fields['status'] as ScriptOutcome['status'];
	switch (event) {
		case 'run.finish': {
			const {exitCode, signal, durationMs, truncated, bytes} = fields as Omit<ScriptOutcome, 'status' | 'reason'>;
			return resultFrame(id, {status, exitCode, signal, durationMs, truncated, bytes, ...(reason === undefined ? {} : {reason})}, undefined);
		}

		case 'run.refused': {
			return typeof status === 'string' && reason !== undefined ? resultFrame(id, notRun(status, reason), undefined) : undefined;
		}

		case 'decision': {
			if (reason === undefined || !mayEnd(event, fields)) {
				return undefined;
			}

			return resultFrame(id, fields['allowed'] === false ? notRun('denied', reason) : dryRunAnswer(reason === noHookReason ? undefined : reason), undefined);
		}

		default: {
			return undefined;
		}
	}
}

/** The run's records that may end it, each naming where its result goes (`place`); `ending` is told when one is recorded (the result comes next). */
export class RunEndRecords {
	#last: {record: EndRecord; durable: boolean} | undefined;

	constructor(private readonly place: () => ChainPlace, private readonly ending: () => void) {}

	/** The run's recorder: each record that may end the run carries the place its result will take. */
	wrap(recorder: AgentRecorder): AgentRecorder {
		return {
			signedHead: () => recorder.signedHead(),
			record: async (event, fields) => {
				if (!mayEnd(event, fields)) {
					return recorder.record(event, fields);
				}

				this.ending();
				const entry = {record: {event, fields, place: this.place()}, durable: false};
				this.#last = entry;
				await recorder.record(event, {...fields, [placeField]: entry.record.place});
				entry.durable = true;
			},
		};
	}

	/** Whether the end reply `body`, sealed at `place`, can be sealed again from the run's last record alone, which is on the disk. */
	covers(body: ReplyBody, place: ChainPlace): boolean {
		const last = this.#last;
		if (!last?.durable || body.type !== 'result' || last.record.place.seq !== place.seq || last.record.place.prev !== place.prev || last.record.place.req !== place.req) {
			return false;
		}

		const {agentHead: _head, ...sent} = body;
		const rebuilt = resultOfRecord(last.record.event, last.record.fields);
		return rebuilt !== undefined && canonicalJson(rebuilt) === canonicalJson(sent);
	}
}

const hashPattern = /^[\da-f]{64}$/;

function placeOf(value: unknown): ChainPlace | undefined {
	const place = value as Partial<ChainPlace> | null;
	return typeof place === 'object' && place !== null && typeof place.req === 'string' && hashPattern.test(place.req) && typeof place.prev === 'string' && hashPattern.test(place.prev) && Number.isSafeInteger(place.seq) && place.seq! >= 1
		? {req: place.req, seq: place.seq!, prev: place.prev}
		: undefined;
}

/**
 * The end records of relay runs in the audit log at `path` (its current file and the newest
 * rotated one) recorded from `since` (ms) to `before`, the last per request id: what a restarted
 * agent seals results again from. A line that does not parse is skipped (audit verify reports it).
 */
export function endRecordsInLog(path: string, since: number, before: number): Map<string, EndRecord> {
	const found = new Map<string, EndRecord>();
	for (const file of logFileSet(path).slice(-2)) {
		let text: string;
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}

		for (const line of text.split('\n')) {
			if (!line.includes(`"${placeField}":`)) {
				continue;
			}

			try {
				const record = JSON.parse(line) as Record<string, unknown>;
				const at = Date.parse(String(record['ts']));
				const place = placeOf(record[placeField]);
				const id = record['requestId'];
				if (place && typeof id === 'string' && requestIdPattern.test(id) && typeof record['event'] === 'string' && at >= since && at < before) {
					found.set(id, {event: record['event'], fields: record, place});
				}
			} catch {
				// Not a record: skipped.
			}
		}
	}

	return found;
}
