/**
 * What every frame decoder shares: the size limit, the JSON parse (depth-limited, never throws),
 * the version and the request id, in that order; then the frame's own decoder builds the typed
 * frame or names the field that is wrong. The protocol error carries the id once it is known.
 */
import {limits, protocolVersion, requestIdPattern, unknownRequestId, type ProtocolErrorCode} from './frames.js';
import {safeJsonParse} from './safe-json.js';
import {utf8Bytes} from './text-checks.js';

export type ProtocolError = {code: ProtocolErrorCode; message: string; id: string};
export type Decoded<F> = {ok: true; frame: F} | {ok: false; error: ProtocolError};

/** A frame's fields as parsed, before any is checked. */
export type Fields = Record<string, unknown>;
export type Fail = (code: ProtocolErrorCode, message: string) => ProtocolError;

/** A certificate serial as we write it: hex, at most 20 bytes (RFC 5280). */
export const serialPattern = /^[\da-f]{1,40}$/i;

/** A SHA-256 digest as lowercase hex. */
export const sha256Pattern = /^[\da-f]{64}$/;

type Build<F> = (fields: Fields, fail: Fail) => F | ProtocolError;

/**
 * The protocol error a frame's decoder returns: without the request id, which decodeParsed, the only
 * caller of decoders, writes in once it returns (one function for every frame, not one per frame).
 */
const fail: Fail = (code, message) => ({code, message, id: unknownRequestId});

export function decodeWith<F>(line: string, maxBytes: number, build: Build<F>, options: {unknownIdOnErrors?: boolean} = {}): Decoded<F> {
	if (utf8Bytes(line) > maxBytes) {
		return {ok: false, error: fail('too-large', `frame is larger than ${maxBytes} bytes`)};
	}

	const parsed = safeJsonParse(line, limits.depth);
	if (!parsed.ok) {
		return {ok: false, error: fail('malformed', parsed.reason)};
	}

	return decodeParsed(parsed.value, build, options);
}

/**
 * The checks after the parse, on a value JSON.parse made (or one equal to it: what a relay
 * envelope's parsed body becomes, read from the message parsed once — relay-envelope.ts). Whoever
 * passes it has applied the size limit and safeJsonParse's depth and key checks already.
 */
export function decodeParsed<F>(fields: unknown, build: Build<F>, options: {unknownIdOnErrors?: boolean} = {}): Decoded<F> {
	let id = unknownRequestId;
	if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
		return {ok: false, error: fail('malformed', 'a frame must be a JSON object')};
	}

	const record = fields as Fields;
	if (typeof record['id'] === 'string' && requestIdPattern.test(record['id'])) {
		id = record['id'];
	}

	if (record['v'] !== protocolVersion) {
		return {ok: false, error: {code: 'unsupported-version', message: `protocol version ${JSON.stringify(record['v'])} is not supported (this side speaks ${protocolVersion})`, id}};
	}

	// An agent's refusal of a connection it could not read a request id from carries "-".
	const unknownIdAllowed = options.unknownIdOnErrors === true && record['id'] === unknownRequestId && record['type'] === 'error';
	if (id === unknownRequestId && !unknownIdAllowed) {
		return {ok: false, error: fail('malformed', 'field "id" must be a request id')};
	}

	const built = build(record, fail);
	if (isProtocolError(built)) {
		// Made by `fail` for this frame alone: it carries the request id from here.
		built.id = id;
		return {ok: false, error: built};
	}

	return {ok: true, frame: built};
}

function isProtocolError(value: unknown): value is ProtocolError {
	return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('type' in value);
}
