import {
	agentStatuses,
	limits,
	protocolErrorCodes,
	protocolVersion,
	requestIdPattern,
	unknownRequestId,
	type AgentStatus,
	type ApprovalClaim,
	type ProtocolErrorCode,
	type RequestFrame,
	type ResponseFrame,
	type ScriptDescription,
	type SignedHead,
	type TokenClaim,
} from './frames.js';
import {safeJsonParse} from './safe-json.js';
import {hasControl, hasNul, utf8Bytes} from './text-checks.js';

export type ProtocolError = {code: ProtocolErrorCode; message: string; id: string};
export type Decoded<F> = {ok: true; frame: F} | {ok: false; error: ProtocolError};

type Fields = Record<string, unknown>;

/** A certificate serial as we write it: hex, at most 20 bytes (RFC 5280). */
const serialPattern = /^[\da-f]{1,40}$/i;

/** Decode one line sent by a controller. Returns a typed frame or a protocol error; never throws. */
export function decodeRequest(line: string): Decoded<RequestFrame> {
	return decodeWith(line, limits.requestFrameBytes, (fields, fail) => {
		const msg = fields['msg'];
		const ts = fields['ts'];
		if (typeof msg !== 'string' || !requestIdPattern.test(msg)) {
			return fail('malformed', 'field "msg" must be a message id');
		}

		if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) {
			return fail('malformed', 'field "ts" must be a timestamp in milliseconds');
		}

		const base = {v: protocolVersion, id: fields['id'] as string, msg, ts};
		switch (fields['type']) {
			case 'describe': {
				return {type: 'describe', ...base, ...(fields['keepOpen'] === true ? {keepOpen: true as const} : {})};
			}

			case 'cancel':
			case 'status':
			case 'renew':
			case 'unpair': {
				const caller = fields['caller'];
				if (typeof caller !== 'string' || hasNul(caller)) {
					return fail('malformed', 'field "caller" must be a string');
				}

				return {type: fields['type'], ...base, caller};
			}

			case 'pin': {
				const {caller, serial} = fields;
				if (typeof caller !== 'string' || hasNul(caller)) {
					return fail('malformed', 'field "caller" must be a string');
				}

				if (typeof serial !== 'string' || !serialPattern.test(serial)) {
					return fail('malformed', 'field "serial" must be a certificate serial in hex');
				}

				return {type: 'pin', ...base, caller, serial};
			}

			case 'certificate': {
				const certificate = fields['certificate'];
				if (typeof certificate !== 'string' || !certificate.startsWith('-----BEGIN CERTIFICATE-----')) {
					return fail('malformed', 'field "certificate" must be a PEM certificate');
				}

				return {type: 'certificate', ...base, certificate};
			}

			case 'run': {
				const {script, args, caller, timeoutMs, dryRun, token, controllerHead, callerSource, client, approval, entryDigest} = fields;
				if (entryDigest !== undefined && (typeof entryDigest !== 'string' || !/^[\da-f]{64}$/.test(entryDigest))) {
					return fail('malformed', 'field "entryDigest" must be a SHA-256 hex digest');
				}

				if (callerSource !== undefined && (typeof callerSource !== 'string' || callerSource.length > 256 || hasControl(callerSource))) {
					return fail('malformed', 'field "callerSource" must be an address of at most 256 printable characters');
				}

				if (client !== undefined && (typeof client !== 'string' || client.length > 256 || hasControl(client))) {
					return fail('malformed', 'field "client" must be at most 256 printable characters');
				}

				if (approval !== undefined && !isApprovalClaim(approval)) {
					return fail('malformed', 'field "approval" must be {id, approvers, at, planHash, entryDigest?} (printable strings, at most 10 approvers, SHA-256 hex hashes)');
				}

				if (token !== undefined && !isTokenClaim(token)) {
					return fail('malformed', 'field "token" must be a token scope {id, name, scripts, on, expiresAt}');
				}

				if (controllerHead !== undefined && !isSignedHead(controllerHead)) {
					return fail('malformed', 'field "controllerHead" must be a signed head {log, seq, hash, signature, keyId}');
				}

				if (typeof script !== 'string') {
					return fail('malformed', 'field "script" must be a string');
				}

				if (!Array.isArray(args) || !args.every(argument => typeof argument === 'string')) {
					return fail('malformed', 'field "args" must be an array of strings');
				}

				if (typeof caller !== 'string' || hasNul(caller)) {
					return fail('malformed', 'field "caller" must be a string');
				}

				if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)) {
					return fail('malformed', 'field "timeoutMs" must be a positive integer');
				}

				if (dryRun !== undefined && typeof dryRun !== 'boolean') {
					return fail('malformed', 'field "dryRun" must be a boolean');
				}

				return {
					type: 'run',
					...base,
					script,
					args: Object.freeze([...args]) as string[],
					caller,
					...(timeoutMs === undefined ? {} : {timeoutMs}),
					...(dryRun === undefined ? {} : {dryRun}),
					...(token === undefined ? {} : {token: token as TokenClaim}),
					...(controllerHead === undefined ? {} : {controllerHead: controllerHead as SignedHead}),
					...(callerSource === undefined ? {} : {callerSource}),
					...(client === undefined ? {} : {client}),
					...(approval === undefined ? {} : {approval: approval as ApprovalClaim}),
					...(entryDigest === undefined ? {} : {entryDigest}),
				};
			}

			default: {
				return fail('unknown-type', `unknown request type ${JSON.stringify(fields['type'])}`);
			}
		}
	});
}

/** Decode one line sent by an agent. Returns a typed frame or a protocol error; never throws. */
export function decodeResponse(line: string): Decoded<ResponseFrame> {
	return decodeWith(line, limits.responseFrameBytes, (fields, fail) => {
		const base = {v: protocolVersion, id: fields['id'] as string};
		switch (fields['type']) {
			case 'started': {
				return {type: 'started', ...base};
			}

			case 'stdout':
			case 'stderr': {
				const data = fields['data'];
				if (typeof data !== 'string') {
					return fail('malformed', 'field "data" must be a string');
				}

				return {type: fields['type'], ...base, data};
			}

			case 'ack': {
				if (typeof fields['found'] !== 'boolean') {
					return fail('malformed', 'field "found" must be a boolean');
				}

				return {type: 'ack', ...base, found: fields['found']};
			}

			case 'result': {
				return decodeResult(fields, base, fail);
			}

			case 'csr': {
				const csr = fields['csr'];
				if (typeof csr !== 'string' || !csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----')) {
					return fail('malformed', 'field "csr" must be a PEM certificate request');
				}

				return {type: 'csr', ...base, csr};
			}

			case 'renewed': {
				const {serial, notAfter} = fields;
				if (typeof serial !== 'string' || !serialPattern.test(serial) || typeof notAfter !== 'string' || Number.isNaN(Date.parse(notAfter))) {
					return fail('malformed', 'a renewed frame needs "serial" (hex) and "notAfter" (a date)');
				}

				return {type: 'renewed', ...base, serial, notAfter};
			}

			case 'pinned': {
				const serials = fields['serials'];
				if (!Array.isArray(serials) || !serials.every(serial => typeof serial === 'string' && serialPattern.test(serial))) {
					return fail('malformed', 'field "serials" must be an array of hex serials');
				}

				return {type: 'pinned', ...base, serials: serials as string[]};
			}

			case 'unpaired': {
				return {type: 'unpaired', ...base};
			}

			case 'description': {
				return decodeDescription(fields, base, fail);
			}

			case 'error': {
				const {code, message} = fields;
				if (typeof code !== 'string' || typeof message !== 'string') {
					return fail('malformed', 'an error frame needs "code" and "message" strings');
				}

				const known = (protocolErrorCodes as readonly string[]).includes(code);
				return {type: 'error', ...base, code: known ? (code as ProtocolErrorCode) : 'malformed', message};
			}

			default: {
				return fail('unknown-type', `unknown response type ${JSON.stringify(fields['type'])}`);
			}
		}
	}, {unknownIdOnErrors: true});
}

type Fail = (code: ProtocolErrorCode, message: string) => ProtocolError;

function decodeWith<F>(line: string, maxBytes: number, build: (fields: Fields, fail: Fail) => F | ProtocolError, options: {unknownIdOnErrors?: boolean} = {}): Decoded<F> {
	let id = unknownRequestId;
	const fail: Fail = (code, message) => ({code, message, id});
	if (utf8Bytes(line) > maxBytes) {
		return {ok: false, error: fail('too-large', `frame is larger than ${maxBytes} bytes`)};
	}

	const parsed = safeJsonParse(line, limits.depth);
	if (!parsed.ok) {
		return {ok: false, error: fail('malformed', parsed.reason)};
	}

	const fields = parsed.value;
	if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
		return {ok: false, error: fail('malformed', 'a frame must be a JSON object')};
	}

	const record = fields as Fields;
	if (typeof record['id'] === 'string' && requestIdPattern.test(record['id'])) {
		id = record['id'];
	}

	if (record['v'] !== protocolVersion) {
		return {ok: false, error: fail('unsupported-version', `protocol version ${JSON.stringify(record['v'])} is not supported (this side speaks ${protocolVersion})`)};
	}

	// An agent's refusal of a connection it could not read a request id from carries "-".
	const unknownIdAllowed = options.unknownIdOnErrors === true && record['id'] === unknownRequestId && record['type'] === 'error';
	if (id === unknownRequestId && !unknownIdAllowed) {
		return {ok: false, error: fail('malformed', 'field "id" must be a request id')};
	}

	const built = build(record, fail);
	return isProtocolError(built) ? {ok: false, error: built} : {ok: true, frame: built};
}

function isProtocolError(value: unknown): value is ProtocolError {
	return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('type' in value);
}

function decodeResult(fields: Fields, base: {v: 1; id: string}, fail: Fail): ResponseFrame | ProtocolError {
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

	return {
		type: 'result',
		...base,
		status: status as AgentStatus,
		exitCode: exitCode as number | null,
		signal: signal as string | null,
		durationMs,
		truncated,
		bytes: {stdout: counts['stdout'], stderr: counts['stderr']},
		...(reason === undefined ? {} : {reason}),
		...(agentHead === undefined ? {} : {agentHead: agentHead as SignedHead}),
		...(fields['entryChanged'] === true && status === 'denied' ? {entryChanged: true as const} : {}),
	};
}

function isSignedHead(value: unknown): value is SignedHead {
	const head = value as Partial<SignedHead> | null;
	return typeof head === 'object' && head !== null && typeof head.log === 'string' && Number.isSafeInteger(head.seq) && typeof head.hash === 'string' && typeof head.signature === 'string' && typeof head.keyId === 'string';
}

/** Exported for the controller's policy endpoint, which reads the same claim from an agent's hook. */
export function isApprovalClaim(value: unknown): value is ApprovalClaim {
	const claim = value as Partial<ApprovalClaim> | null;
	const short = (text: unknown, max: number) => typeof text === 'string' && text.length > 0 && text.length <= max && !hasControl(text);
	const keys = claim === null || typeof claim !== 'object' ? [] : Object.keys(claim);
	const digest = claim?.entryDigest === undefined ? keys.length === 4 : keys.length === 5 && typeof claim.entryDigest === 'string' && /^[\da-f]{64}$/.test(claim.entryDigest);
	return typeof claim === 'object' && claim !== null && !Array.isArray(claim) && digest
		&& short(claim.id, 64) && short(claim.at, 40) && typeof claim.planHash === 'string' && /^[\da-f]{64}$/.test(claim.planHash)
		&& Array.isArray(claim.approvers) && claim.approvers.length > 0 && claim.approvers.length <= 10 && claim.approvers.every(name => short(name, 63));
}

function isTokenClaim(value: unknown): value is TokenClaim {
	const claim = value as Partial<TokenClaim> | null;
	const strings = (list: unknown) => Array.isArray(list) && list.every(item => typeof item === 'string');
	return typeof claim === 'object' && claim !== null && typeof claim.id === 'string' && typeof claim.name === 'string' && strings(claim.scripts) && strings(claim.on) && (claim.expiresAt === null || typeof claim.expiresAt === 'string');
}

function decodeDescription(fields: Fields, base: {v: 1; id: string}, fail: Fail): ResponseFrame | ProtocolError {
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
			...(typeof entry['digest'] === 'string' && /^[\da-f]{64}$/.test(entry['digest']) ? {digest: entry['digest']} : {}),
		});
	}

	return {type: 'description', ...base, agent: {name: agent['name'], tags: agent['tags']}, scripts: described, ...(fields['openForRun'] === true ? {openForRun: true as const} : {}), ...(fields['checksEntry'] === true ? {checksEntry: true as const} : {})};
}

function isStringRecord(value: unknown): value is Record<string, string> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(item => typeof item === 'string');
}
