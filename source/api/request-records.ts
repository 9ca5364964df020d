/**
 * Finds the controller's own audit record of a request (`run.request` or `run.dry-run`) by its
 * id, reading the audit log backwards from its end, in chunks, and no further back than a time
 * limit: a policy check comes while its run is going, so its record is near the end. Found
 * records are remembered (every host of one run asks about the same request).
 */
import {linesBackwards} from '../io/lines-backwards.js';
import {asRequestRecord, type RequestRecord} from './policy-decision.js';

const chunkBytes = 64 * 1024;

export type RequestRecords = {find: (requestId: string, now: Date) => RequestRecord | undefined};

export function openRequestRecords(auditLogPath: string, options: {lookBackMs?: number; remember?: number} = {}): RequestRecords {
	const lookBackMs = options.lookBackMs ?? 26 * 60 * 60 * 1000;
	const remember = options.remember ?? 4096;
	const found = new Map<string, RequestRecord>();
	return {
		find(requestId, now) {
			const known = found.get(requestId);
			if (known) {
				return known;
			}

			const record = scanBackwards(auditLogPath, requestId, new Date(now.getTime() - lookBackMs));
			if (record) {
				if (found.size >= remember) {
					found.delete(found.keys().next().value!);
				}

				found.set(requestId, record);
			}

			return record;
		},
	};
}

function scanBackwards(path: string, requestId: string, notBefore: Date): RequestRecord | undefined {
	let found: RequestRecord | undefined;
	try {
		linesBackwards(path, line => {
			// Only a line that names the request is parsed; the others are only dated.
			if (line.includes(requestId)) {
				found = parseRequest(line, requestId);
				if (found) {
					return 'stop';
				}
			}

			const ts = /"ts":"([^"]{1,40})"/.exec(line)?.[1];
			return ts !== undefined && new Date(ts) < notBefore ? 'stop' : undefined;
		}, {chunkBytes});
	} catch {
		// An unreadable log has no record to give.
	}

	return found;
}

function parseRequest(line: string, requestId: string): RequestRecord | undefined {
	try {
		const record = JSON.parse(line) as Record<string, unknown>;
		return record['requestId'] === requestId ? asRequestRecord(record) : undefined;
	} catch {
		return undefined;
	}
}
