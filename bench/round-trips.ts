/**
 * Round trips on one connection, counted from the order in which data reaches a proxy in the
 * middle: one for the TCP handshake (which the proxy emulates), plus one for every flight of the
 * client's data that the server answered (data from the server after it). Consecutive chunks in
 * one direction are one flight; a client flight nobody answers (a close_notify after the last
 * frame) costs the client no wait and is not counted. A server that speaks first (sshd's banner)
 * adds nothing by itself: the client's flight it prompts is counted when that is answered.
 */
export class RoundTripCounter {
	private answered = 0;
	private clientFlightOpen = false;
	private last: 'client' | 'server' | undefined;

	fromClient(): void {
		if (this.last !== 'client') {
			this.clientFlightOpen = true;
		}

		this.last = 'client';
	}

	fromServer(): void {
		if (this.clientFlightOpen) {
			this.answered++;
			this.clientFlightOpen = false;
		}

		this.last = 'server';
	}

	/** The TCP handshake plus the answered client flights. */
	count(): number {
		return 1 + this.answered;
	}
}
