import {closeSync, readdirSync, readFileSync} from 'node:fs';

const closeOnExec = 0o2000000;

/**
 * Scripts must inherit no descriptor but their three pipes. Node opens everything with
 * close-on-exec, but a descriptor the agent itself inherited from whatever started it (a
 * supervisor's pipe, say) has no such flag and would pass on to every script: close those.
 * Linux only (/proc); node's IPC channel, if any, is kept.
 */
export function closeInheritedDescriptors(): number[] {
	const keep = new Set([0, 1, 2, Number(process.env['NODE_CHANNEL_FD'] ?? -1)]);
	let entries: string[];
	try {
		entries = readdirSync('/proc/self/fd');
	} catch {
		return [];
	}

	const closed: number[] = [];
	for (const entry of entries) {
		const fd = Number(entry);
		let flags: number;
		try {
			flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
		} catch {
			continue; // Gone already (the directory listing's own descriptor).
		}

		if (!keep.has(fd) && Number.isInteger(flags) && (flags & closeOnExec) === 0) {
			try {
				closeSync(fd);
				closed.push(fd);
			} catch {
				// Not ours to close after all.
			}
		}
	}

	return closed;
}
