/**
 * How an exchange with one agent ends, the same over either link (tls-link.ts, relay-link.ts).
 * Each link ends an exchange once: the first end wins, every timer the exchange set is cleared,
 * the caller's cancel is no longer listened to, and the link's own cleanup runs once (close the
 * socket, forget the subject).
 */
import type {RequestFrame, ResponseFrame} from '../protocol/frames.js';

/** A request frame as a caller writes it: each link adds its own envelope (a message id and time, or a signed envelope). */
export type RequestWithoutEnvelope = RequestFrame extends infer F ? (F extends RequestFrame ? Omit<F, 'v' | 'msg' | 'ts'> : never) : never;

export type ExchangeEnd =
	| {kind: 'terminal'; frame: ResponseFrame}
	| {kind: 'unreachable'; reason: string}
	| {kind: 'lost'; reason: string}
	| {kind: 'deadline'}
	| {kind: 'protocol'; reason: string};

/** Frames after which the agent says nothing more about the request. */
export const terminalTypes: ReadonlySet<string> = new Set(['result', 'description', 'ack', 'error', 'renewed', 'pinned', 'unpaired']);
