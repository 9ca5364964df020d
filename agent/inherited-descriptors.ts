import {closeSync, fstatSync, readdirSync, readFileSync} from 'node:fs';

const closeOnExec = 0o2000000;

/** A descriptor the process held without close-on-exec, and what it named then (fstat's dev and ino). */
export type InheritedDescriptor = {fd: number; dev: bigint; ino: bigint};

/**
 * Scripts must inherit no descriptor but their three pipes. Node opens everything with
 * close-on-exec, and at start marks 0–15 (and on, up to the first gap) close-on-exec itself, but a
 * descriptor the agent inherited from whatever started it past that (a supervisor's pipe at 251,
 * say) has no such flag and would pass on to every script. Linux only (/proc); node's IPC
 * channel, if any, is kept.
 *
 * Which descriptors were inherited must be read at exec, before anything else in the process
 * opens one: the runtime itself may open a descriptor without close-on-exec, on another thread,
 * at any later time (Node 24 reads NODE_EXTRA_CA_CERTS with OpenSSL's fopen on a thread it starts
 * when node:tls loads). Closing such a descriptor closes a number the runtime is still using, and
 * once the number is reused its fclose closes ours. So agent/at-exec.ts lists them as the first
 * thing the entry does, and closeInherited closes only those, each only if it still names the
 * same file.
 */
export function descriptorsAtExec(): InheritedDescriptor[] {
	const keep = new Set([0, 1, 2, Number(process.env['NODE_CHANNEL_FD'] ?? -1)]);
	const inherited: InheritedDescriptor[] = [];
	for (const fd of openDescriptors()) {
		if (keep.has(fd) || !withoutCloseOnExec(fd)) {
			continue;
		}

		const identity = identityOf(fd);
		if (identity) {
			inherited.push({fd, ...identity});
		}
	}

	return inherited;
}

/**
 * Closes each descriptor of `inherited` that still names the file it named at exec and is still
 * without close-on-exec; returns the numbers closed. Nothing but this process's own start-up
 * knows these numbers, so a match is the inherited descriptor itself; anything else is left open.
 */
export function closeInherited(inherited: readonly InheritedDescriptor[]): number[] {
	const closed: number[] = [];
	for (const {fd, dev, ino} of inherited) {
		const now = identityOf(fd);
		if (!now || now.dev !== dev || now.ino !== ino || !withoutCloseOnExec(fd)) {
			continue;
		}

		try {
			closeSync(fd);
			closed.push(fd);
		} catch {
			// Not ours to close after all.
		}
	}

	return closed;
}

function openDescriptors(): number[] {
	try {
		return readdirSync('/proc/self/fd').map(Number).filter(fd => Number.isInteger(fd));
	} catch {
		return [];
	}
}

function withoutCloseOnExec(fd: number): boolean {
	let flags: number;
	try {
		flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
	} catch {
		return false; // Gone already (the directory listing's own descriptor).
	}

	return Number.isInteger(flags) && (flags & closeOnExec) === 0;
}

function identityOf(fd: number): {dev: bigint; ino: bigint} | undefined {
	try {
		const {dev, ino} = fstatSync(fd, {bigint: true});
		return {dev, ino};
	} catch {
		return undefined;
	}
}
