/**
 * Standard output and standard error, written so that a reader going away never changes what the
 * program does: `xi-exec run … | head -n 1` leaves the run to finish on every host, its history
 * and audit records complete. Writes are synchronous (`writeSync`), as Node's own stdout is on a
 * blocking pipe or a terminal, so output keeps its order and never piles up in memory:
 *
 * - EPIPE (the reader closed the pipe; Node ignores SIGPIPE) and any other error: the stream is
 *   closed for good, later writes are dropped, nothing is thrown.
 * - EAGAIN (a descriptor left non-blocking by another process sharing it: measured, a bare
 *   `fs.writeSync(1)` throws it after 64 KiB when the reader is slow): wait a little and write the
 *   rest again, as a blocking write would.
 *
 * Node's own `process.stdout`/`process.stderr` (used by Ink and by anything we did not write) get
 * an `error` listener, so an EPIPE there cannot crash the process either.
 */
import {writeSync} from 'node:fs';

export type OutputStream = {
	write: (text: string) => void;
	/** True once a write failed (EPIPE: nobody reads any more). */
	readonly closed: boolean;
};

const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(pause, 0, 0, ms);

export function fdOutput(fd: number, options: {wait?: (ms: number) => void} = {}): OutputStream {
	const wait = options.wait ?? sleep;
	let closed = false;
	return {
		get closed() {
			return closed;
		},
		write(text: string) {
			if (closed || text === '') {
				return;
			}

			const bytes = Buffer.from(text, 'utf8');
			let offset = 0;
			let waited = 1;
			while (offset < bytes.length) {
				try {
					offset += writeSync(fd, bytes, offset);
					waited = 1;
				} catch (error) {
					if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
						wait(waited);
						waited = Math.min(waited * 2, 50);
						continue;
					}

					closed = true;
					return;
				}
			}
		},
	};
}

let streams: {stdout: OutputStream; stderr: OutputStream} | undefined;

/** The process's stdout and stderr as OutputStreams (one pair per process), Node's own streams guarded. */
export function standardOutput(): {stdout: OutputStream; stderr: OutputStream} {
	if (!streams) {
		streams = {stdout: fdOutput(1), stderr: fdOutput(2)};
		for (const stream of [process.stdout, process.stderr]) {
			stream.on('error', () => undefined);
		}
	}

	return streams;
}
