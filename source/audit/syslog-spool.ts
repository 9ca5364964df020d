/**
 * The syslog spool: formatted messages the collector has not taken yet, one per line in
 * `syslog-spool` beside the audit log (0600), oldest first, bounded in bytes. Whatever a process
 * could not deliver before it exits is appended here, and the next forwarder of the same side
 * (the next CLI call, the restarted agent) takes it and sends it before its own records. When the
 * bound is reached the oldest messages are dropped, and every drop is counted by reason in
 * `syslog-spool.dropped.json`, so `xi-exec doctor` and the agent's log can say what was lost and
 * why. Every change is a durable write (durable-fs.ts), under a cross-process lock (brief-lock.ts).
 */
import {readFileSync, statSync} from 'node:fs';
import {withBriefLock} from '../io/brief-lock.js';
import {appendDurable, writeFileDurable} from '../io/durable-fs.js';
import {existsSync} from '../io/files.js';

/** 16 MiB: about 16,000 audit records of a typical size. */
export const defaultSpoolBytes = 16 * 1024 * 1024;

export type DropReason = 'spool full' | 'spool unwritable' | 'too large for UDP';

export type SpoolStatus = {waiting: number; bytes: number; maxBytes: number; dropped: Partial<Record<DropReason, number>>};

export type Spool = {
	readonly path: string;
	/** Takes every waiting message (the file is emptied), oldest first. */
	take: () => Promise<string[]>;
	/** Appends messages after those waiting, dropping the oldest beyond the bound. */
	put: (messages: readonly string[]) => Promise<void>;
	/** Counts messages lost for a reason (persisted with the spool). */
	drop: (reason: DropReason, count: number) => Promise<void>;
	status: () => SpoolStatus;
};

export function spoolPath(auditLogPath: string): string {
	return auditLogPath.replace(/[^/]+$/, 'syslog-spool');
}

export function openSpool(path: string, maxBytes = defaultSpoolBytes): Spool {
	const droppedPath = `${path}.dropped.json`;

	async function locked<T>(action: () => T): Promise<T> {
		if (!existsSync(path)) {
			appendDurable(path, '', {created: true});
		}

		return withBriefLock(path, action);
	}

	const readLines = (): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(line => line.length > 0) : []);

	function readDropped(): Partial<Record<DropReason, number>> {
		try {
			return JSON.parse(readFileSync(droppedPath, 'utf8')) as Partial<Record<DropReason, number>>;
		} catch {
			return {};
		}
	}

	function addDropped(reason: DropReason, count: number): void {
		if (count === 0) {
			return;
		}

		const dropped = readDropped();
		dropped[reason] = (dropped[reason] ?? 0) + count;
		writeFileDurable(droppedPath, JSON.stringify(dropped) + '\n', 0o600);
	}

	return {
		path,
		take: async () => locked(() => {
			const lines = readLines();
			if (lines.length > 0) {
				writeFileDurable(path, '', 0o600);
			}

			return lines;
		}),
		put: async messages => locked(() => {
			if (messages.length === 0) {
				return;
			}

			const size = existsSync(path) ? statSync(path).size : 0;
			const adding = messages.reduce((total, message) => total + Buffer.byteLength(message) + 1, 0);
			if (size + adding <= maxBytes) {
				appendDurable(path, messages.map(message => `${message}\n`).join(''));
				return;
			}

			// Over the bound: keep the newest that fit, count the rest.
			const all = [...readLines(), ...messages];
			let bytes = 0;
			let keepFrom = all.length;
			while (keepFrom > 0 && bytes + Buffer.byteLength(all[keepFrom - 1]!) + 1 <= maxBytes) {
				keepFrom--;
				bytes += Buffer.byteLength(all[keepFrom]!) + 1;
			}

			writeFileDurable(path, all.slice(keepFrom).map(message => `${message}\n`).join(''), 0o600);
			addDropped('spool full', keepFrom);
		}),
		drop: async (reason, count) => locked(() => {
			addDropped(reason, count);
		}),
		status() {
			const lines = readLines();
			return {waiting: lines.length, bytes: lines.reduce((total, line) => total + Buffer.byteLength(line) + 1, 0), maxBytes, dropped: readDropped()};
		},
	};
}
