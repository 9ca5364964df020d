/**
 * Finds the controller's own audit record of a request (`run.request` or `run.dry-run`) by its
 * id, reading the audit log backwards from its end, in chunks, and no further back than a time
 * limit: a policy check comes while its run is going, so its record is near the end. Found
 * records are remembered (every host of one run asks about the same request).
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs';
import {asRequestRecord, type RequestRecord} from './policy-decision.js';

const chunkBytes = 64 * 1024;
const maxLineBytes = 1024 * 1024;

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
	let fd: number;
	try {
		fd = openSync(path, 'r');
	} catch {
		return undefined;
	}

	try {
		let position = fstatSync(fd).size;
		let carry = Buffer.alloc(0);
		while (position > 0) {
			const length = Math.min(chunkBytes, position);
			position -= length;
			const chunk = Buffer.alloc(length);
			readSync(fd, chunk, 0, length, position);
			const text = Buffer.concat([chunk, carry]);
			// The first line of this chunk may be cut: keep it for the next (earlier) chunk.
			const firstNewline = position > 0 ? text.indexOf(0x0A) : -1;
			carry = firstNewline === -1 && position > 0 ? text : text.subarray(0, Math.max(0, firstNewline));
			const complete = position > 0 ? (firstNewline === -1 ? '' : text.subarray(firstNewline + 1).toString('utf8')) : text.toString('utf8');
			const lines = complete.split('\n').filter(line => line.length > 0).reverse();
			for (const line of lines) {
				// Only a line that names the request is parsed; the others are only dated.
				if (line.includes(requestId)) {
					const request = parseRequest(line, requestId);
					if (request) {
						return request;
					}
				}

				const ts = /"ts":"([^"]{1,40})"/.exec(line)?.[1];
				if (ts !== undefined && new Date(ts) < notBefore) {
					return undefined;
				}
			}

			if (carry.length > maxLineBytes) {
				carry = Buffer.alloc(0);
			}

			if (position === 0) {
				break;
			}
		}

		return undefined;
	} finally {
		closeSync(fd);
	}
}

function parseRequest(line: string, requestId: string): RequestRecord | undefined {
	try {
		const record = JSON.parse(line) as Record<string, unknown>;
		return record['requestId'] === requestId ? asRequestRecord(record) : undefined;
	} catch {
		return undefined;
	}
}
