/**
 * Splits a byte stream into newline-terminated lines without ever buffering more than `maxBytes`
 * of one line: a peer that never sends a newline gets an overflow, not our memory.
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
			const part = chunk.subarray(start, index);
			if (this.#pendingBytes + part.length > this.maxBytes) {
				return {lines, overflow: true};
			}

			lines.push(Buffer.concat([...this.#pending, part]).toString('utf8'));
			this.#pending = [];
			this.#pendingBytes = 0;
			start = index + 1;
		}

		const rest = chunk.subarray(start);
		if (this.#pendingBytes + rest.length > this.maxBytes) {
			return {lines, overflow: true};
		}

		if (rest.length > 0) {
			this.#pending.push(rest);
			this.#pendingBytes += rest.length;
		}

		return {lines, overflow: false};
	}

	get hasPartialLine(): boolean {
		return this.#pendingBytes > 0;
	}
}
