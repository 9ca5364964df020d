/**
 * The agent's frames as a controller reads them: the shared checks (decode-frame.ts), then one
 * decoder per frame type, each naming the first field that is wrong. An error frame may carry the
 * unknown id "-" (an agent refusing a connection it could not read a request id from).
 */
import {
	agentStatuses,
	limits,
	protocolErrorCodes,
	protocolVersion,
	type AgentStatus,
	type ProtocolErrorCode,
	type ResponseFrame,
	type ResultFrame,
	type ScriptDescription,
} from './frames.js';
import {decodeParsed, decodeWith, serialPattern, sha256Pattern, type Decoded, type Fail, type Fields, type ProtocolError} from './decode-frame.js';
import {isSignedHead, isStringRecord} from './decode-claims.js';

type ResponseHead = {v: typeof protocolVersion; id: string};
type ResponseDecoder = (fields: Fields, head: ResponseHead, fail: Fail) => ResponseFrame | ProtocolError;

/** Decode one line sent by an agent. Returns a typed frame or a protocol error; never throws. */
export function decodeResponse(line: string): Decoded<ResponseFrame> {
	return decodeWith(line, limits.responseFrameBytes, buildResponse, {unknownIdOnErrors: true});
}

/** Decode a response frame already parsed (decodeParsed: the caller applied the size limit and the parse's checks). */
export function decodeResponseFields(fields: Fields): Decoded<ResponseFrame> {
	return decodeParsed(fields, buildResponse, {unknownIdOnErrors: true});
}

function buildResponse(fields: Fields, fail: Fail): ResponseFrame | ProtocolError {
	const type = fields['type'];
	const decoder = typeof type === 'string' && Object.hasOwn(responseDecoders, type) ? responseDecoders[type as ResponseFrame['type']] : undefined;
	if (decoder === undefined) {
		return fail('unknown-type', `unknown response type ${JSON.stringify(type)}`);
	}

	return decoder(fields, {v: protocolVersion, id: fields['id'] as string}, fail);
}

const responseDecoders: Record<ResponseFrame['type'], ResponseDecoder> = {
	started: (_fields, head) => ({type: 'started', v: head.v, id: head.id}),
	stdout: decodeOutput('stdout'),
	stderr: decodeOutput('stderr'),
	ack(fields, head, fail) {
		const found = fields['found'];
		return typeof found === 'boolean' ? {type: 'ack', ...head, found} : fail('malformed', 'field "found" must be a boolean');
	},
	result: decodeResult,
	csr(fields, head, fail) {
		const csr = fields['csr'];
		return typeof csr === 'string' && csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----')
			? {type: 'csr', ...head, csr}
			: fail('malformed', 'field "csr" must be a PEM certificate request');
	},
	renewed(fields, head, fail) {
		const {serial, notAfter} = fields;
		return typeof serial === 'string' && serialPattern.test(serial) && typeof notAfter === 'string' && !Number.isNaN(Date.parse(notAfter))
			? {type: 'renewed', ...head, serial, notAfter}
			: fail('malformed', 'a renewed frame needs "serial" (hex) and "notAfter" (a date)');
	},
	pinned(fields, head, fail) {
		const serials = fields['serials'];
		return Array.isArray(serials) && serials.every(serial => typeof serial === 'string' && serialPattern.test(serial))
			? {type: 'pinned', ...head, serials: serials as string[]}
			: fail('malformed', 'field "serials" must be an array of hex serials');
	},
	unpaired: (_fields, head) => ({type: 'unpaired', ...head}),
	description: decodeDescription,
	error(fields, head, fail) {
		const {code, message} = fields;
		if (typeof code !== 'string' || typeof message !== 'string') {
			return fail('malformed', 'an error frame needs "code" and "message" strings');
		}

		// A code this side does not know reads as malformed rather than as a guess.
		const known = (protocolErrorCodes as readonly string[]).includes(code);
		return {type: 'error', ...head, code: known ? (code as ProtocolErrorCode) : 'malformed', message};
	},
};

function decodeOutput(type: 'stdout' | 'stderr'): ResponseDecoder {
	return (fields, head, fail) => {
		const data = fields['data'];
		return typeof data === 'string' ? {type, v: head.v, id: head.id, data} : fail('malformed', 'field "data" must be a string');
	};
}

function decodeResult(fields: Fields, head: ResponseHead, fail: Fail): ResponseFrame | ProtocolError {
	const {status, exitCode, signal, durationMs, truncated, bytes, reason, agentHead} = fields;
	if (agentHead !== undefined && !isSignedHead(agentHead)) {
		return fail('malformed', 'field "agentHead" must be a signed head {log, seq, hash, signature, keyId}');
	}

	if (typeof status !== 'string' || !(agentStatuses as readonly string[]).includes(status)) {
		return fail('malformed', 'field "status" must be one of ' + agentStatuses.join(', '));
	}

	if (exitCode !== null && !Number.isSafeInteger(exitCode)) {
		return fail('malformed', 'field "exitCode" must be an integer or null');
	}

	if (signal !== null && typeof signal !== 'string') {
		return fail('malformed', 'field "signal" must be a string or null');
	}

	if (typeof durationMs !== 'number' || durationMs < 0 || typeof truncated !== 'boolean') {
		return fail('malformed', 'fields "durationMs" and "truncated" are required');
	}

	const counts = bytes as Fields | undefined;
	if (typeof counts !== 'object' || counts === null || typeof counts['stdout'] !== 'number' || typeof counts['stderr'] !== 'number') {
		return fail('malformed', 'field "bytes" must hold stdout and stderr byte counts');
	}

	if (reason !== undefined && typeof reason !== 'string') {
		return fail('malformed', 'field "reason" must be a string');
	}

	const frame: ResultFrame = {type: 'result', v: head.v, id: head.id, status: status as AgentStatus, exitCode: exitCode as number | null, signal, durationMs, truncated, bytes: {stdout: counts['stdout'], stderr: counts['stderr']}};
	// Optional fields only when present (assigned, not spread: this runs for every host's result).
	if (reason !== undefined) {
		frame.reason = reason;
	}

	if (agentHead !== undefined) {
		frame.agentHead = agentHead;
	}

	if (fields['entryChanged'] === true && status === 'denied') {
		frame.entryChanged = true;
	}

	return frame;
}

function decodeDescription(fields: Fields, head: ResponseHead, fail: Fail): ResponseFrame | ProtocolError {
	const agent = fields['agent'] as Fields | undefined;
	const scripts = fields['scripts'];
	if (typeof agent !== 'object' || agent === null || typeof agent['name'] !== 'string' || !isStringRecord(agent['tags'])) {
		return fail('malformed', 'field "agent" must hold a name and tags');
	}

	if (!Array.isArray(scripts)) {
		return fail('malformed', 'field "scripts" must be an array');
	}

	const described: ScriptDescription[] = [];
	for (const entry of scripts as Fields[]) {
		if (typeof entry !== 'object' || entry === null || typeof entry['name'] !== 'string' || typeof entry['description'] !== 'string' || typeof entry['timeoutSeconds'] !== 'number') {
			return fail('malformed', 'each script needs a name, a description and timeoutSeconds');
		}

		described.push({
			name: entry['name'],
			description: entry['description'],
			timeoutSeconds: entry['timeoutSeconds'],
			...(entry['args'] === undefined ? {} : {args: entry['args']}),
			...(typeof entry['maxTargets'] === 'number' ? {maxTargets: entry['maxTargets']} : {}),
			...(entry['confirm'] === true ? {confirm: true} : {}),
			...(entry['readOnly'] === true ? {readOnly: true} : {}),
			...(typeof entry['digest'] === 'string' && sha256Pattern.test(entry['digest']) ? {digest: entry['digest']} : {}),
		});
	}

	const flags = {
		...(fields['openForRun'] === true ? {openForRun: true as const} : {}),
		...(fields['checksEntry'] === true ? {checksEntry: true as const} : {}),
	};
	return {type: 'description', ...head, agent: {name: agent['name'], tags: agent['tags']}, scripts: described, ...flags};
}
