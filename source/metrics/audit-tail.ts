/**
 * Reads the records appended to the controller's audit log since the last read: every controller
 * process (CLI runs, pairing, serve itself) writes there, so metrics folded from it cover them
 * all. Starts at the file's end (counters count from when serve started). Follows a rotation: the
 * rest of the file it was reading (now `NAME.N`, found by inode) comes first.
 */
import {closeSync, fstatSync, openSync, readSync, statSync} from 'node:fs';
import {rotatedFiles} from '../audit/log-files.js';
import type {AuditRecord} from '../audit/record.js';

export type AuditTail = {read: () => AuditRecord[]};

export function tailAuditLog(path: string): AuditTail {
	let position = {inode: 0, offset: 0};
	try {
		const stats = statSync(path);
		position = {inode: stats.ino, offset: stats.size};
	} catch {
		// No log yet: the first file is read from its start.
	}

	let carry = '';
	const readFrom = (file: string, offset: number): {text: string; size: number} => {
		const fd = openSync(file, 'r');
		try {
			const {size} = fstatSync(fd);
			const buffer = Buffer.alloc(Math.max(0, size - offset));
			readSync(fd, buffer, 0, buffer.length, offset);
			return {text: buffer.toString('utf8'), size};
		} finally {
			closeSync(fd);
		}
	};

	return {
		read() {
			let text = '';
			let current: ReturnType<typeof statSync>;
			try {
				current = statSync(path);
			} catch {
				return [];
			}

			if (current.ino !== position.inode) {
				const previous = rotatedFiles(path).find(file => statSync(file, {throwIfNoEntry: false})?.ino === position.inode);
				if (previous) {
					text += readFrom(previous, position.offset).text;
				}

				position = {inode: current.ino, offset: 0};
			}

			const latest = readFrom(path, position.offset);
			position.offset = latest.size;
			text = carry + text + latest.text;
			const lines = text.split('\n');
			carry = lines.pop() ?? '';
			return lines.flatMap(line => {
				try {
					const record = JSON.parse(line) as AuditRecord;
					return typeof record.event === 'string' ? [record] : [];
				} catch {
					return [];
				}
			});
		},
	};
}
