import {protocolVersion, type RequestFrame, type ResponseFrame} from './frames.js';

export type WithoutVersion<F> = F extends unknown ? Omit<F, 'v'> : never;

/** One frame as one line of JSON. JSON escapes every control character, so a frame is one line. */
export function encodeFrame(frame: WithoutVersion<RequestFrame | ResponseFrame>): string {
	return JSON.stringify({v: protocolVersion, ...frame}) + '\n';
}
