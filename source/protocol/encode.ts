import {protocolVersion, type RequestFrame, type ResponseFrame} from './frames.js';

export type WithoutVersion<F> = F extends unknown ? Omit<F, 'v'> : never;

/** What a direct link adds to each request it sends (replay protection): a unique message id and the time. */
export type Stamp = {msg: string; ts: number};

/**
 * One frame as one line of JSON: the version first, then the frame's fields in order, then the
 * stamp's when given (tls-link.ts envelope). JSON escapes every control character, so a frame is
 * one line. One object and one stringify, whether stamped or not.
 */
export function encodeFrame(frame: WithoutVersion<RequestFrame | ResponseFrame>, stamp?: Stamp): string {
	const line: Record<string, unknown> = {v: protocolVersion, ...frame};
	if (stamp) {
		// Assigned after the spread, as `{v, ...frame, msg, ts}` would write them: same keys, same order.
		line['msg'] = stamp.msg;
		line['ts'] = stamp.ts;
	}

	return JSON.stringify(line) + '\n';
}
