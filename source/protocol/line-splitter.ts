/**
 * Splits a byte stream into newline-terminated lines without ever buffering more than `maxBytes`
 * of one line: a peer that never sends a newline gets an overflow, not our memory. A line that
 * arrived whole in one chunk is decoded straight from it, with no copy of its bytes.
 */
export type Split = {lines: string[]; overflow: boolean};

export class LineSplitter {
	#pending: Buffer[] = [];
	#pendingBytes = 0;

	constructor(private readonly maxBytes: number) {}

	push(chunk: Buffer): Split {
		const lines: string[] = [];
		let start = 0;
		for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
			if (this.#pendingBytes + index - start > this.maxBytes) {
				return {lines, overflow: true};
			}

			if (this.#pendingBytes === 0) {
				lines.push(chunk.toString('utf8', start, index));
			} else {
				lines.push(Buffer.concat([...this.#pending, chunk.subarray(start, index)]).toString('utf8'));
				this.#pending = [];
				this.#pendingBytes = 0;
			}

			start = index + 1;
		}

		const rest = chunk.length - start;
		if (this.#pendingBytes + rest > this.maxBytes) {
			return {lines, overflow: true};
		}

		if (rest > 0) {
			this.#pending.push(chunk.subarray(start));
			this.#pendingBytes += rest;
		}

		return {lines, overflow: false};
	}

	get hasPartialLine(): boolean {
		return this.#pendingBytes > 0;
	}
}
