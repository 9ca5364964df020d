/**
 * The controller's frames as an agent reads them: the shared checks (decode-frame.ts), then
 * `msg` and `ts`, then one decoder per frame type. Each names the first field that is wrong, in
 * the order written here (a test compares the refusals word for word).
 */
import {
	limits,
	protocolVersion,
	requestIdPattern,
	type ApprovalClaim,
	type RequestFrame,
	type RunFrame,
	type SignedHead,
	type TokenClaim,
} from './frames.js';
import {decodeParsed, decodeWith, serialPattern, sha256Pattern, type Decoded, type Fail, type Fields, type ProtocolError} from './decode-frame.js';
import {isApprovalClaim, isSignedHead, isTokenClaim} from './decode-claims.js';
import {hasControl, hasLoneSurrogate, hasNul} from './text-checks.js';

type RequestHead = {v: typeof protocolVersion; id: string; msg: string; ts: number};
type RequestDecoder = (fields: Fields, head: RequestHead, fail: Fail) => RequestFrame | ProtocolError;
type CallerFrameType = 'cancel' | 'status' | 'renew' | 'unpair';

/** Decode one line sent by a controller. Returns a typed frame or a protocol error; never throws. */
export function decodeRequest(line: string): Decoded<RequestFrame> {
	return decodeWith(line, limits.requestFrameBytes, buildRequest);
}

/** Decode a request frame already parsed (decodeParsed: the caller applied the size limit and the parse's checks). */
export function decodeRequestFields(fields: Fields): Decoded<RequestFrame> {
	return decodeParsed(fields, buildRequest);
}

function buildRequest(fields: Fields, fail: Fail): RequestFrame | ProtocolError {
	const {msg, ts, type} = fields;
	if (typeof msg !== 'string' || !requestIdPattern.test(msg)) {
		return fail('malformed', 'field "msg" must be a message id');
	}

	if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) {
		return fail('malformed', 'field "ts" must be a timestamp in milliseconds');
	}

	const decoder = typeof type === 'string' && Object.hasOwn(requestDecoders, type) ? requestDecoders[type as RequestFrame['type']] : undefined;
	if (decoder === undefined) {
		return fail('unknown-type', `unknown request type ${JSON.stringify(type)}`);
	}

	const frame = decoder(fields, {v: protocolVersion, id: fields['id'] as string, msg, ts}, fail);
	// Last, so that every other refusal keeps its order: a lone surrogate in any string the frame kept.
	return !('type' in frame) || !hasIllFormedString(frame) ? frame : fail('malformed', 'a string in the frame is not well-formed Unicode (a lone surrogate)');
}

/**
 * Whether any string (or key) of a decoded frame holds a lone surrogate, which JSON can escape
 * ("\ud800"): no audit record can hold it (canonical JSON refuses it), and written to argv or a
 * file it becomes U+FFFD, another text than the one checked. Requests only (at most 64 KiB).
 */
function hasIllFormedString(root: unknown): boolean {
	const stack = [root];
	while (stack.length > 0) {
		const value = stack.pop();
		if (typeof value === 'string') {
			if (hasLoneSurrogate(value)) {
				return true;
			}
		} else if (typeof value === 'object' && value !== null) {
			for (const [key, item] of Object.entries(value)) {
				stack.push(key, item);
			}
		}
	}

	return false;
}

const requestDecoders: Record<RequestFrame['type'], RequestDecoder> = {
	describe: (fields, head) => ({type: 'describe', ...head, ...(fields['keepOpen'] === true ? {keepOpen: true as const} : {})}),
	cancel: decodeCallerFrame('cancel'),
	status: decodeCallerFrame('status'),
	renew: decodeCallerFrame('renew'),
	unpair: decodeCallerFrame('unpair'),
	pin: decodePin,
	certificate: decodeCertificate,
	run: decodeRun,
};

/**
 * Who asked: a user@host, a token's or an agent's name. Bounded, since the agent hands it to the
 * script as XI_EXEC_CALLER and the kernel refuses an environment string over 128 KiB (E2BIG):
 * an unbounded one made the run fail to start with a message that did not say why.
 */
const maxCallerLength = 1024;
const callerMessage = `field "caller" must be a string of at most ${maxCallerLength} characters without NUL`;

function isCaller(value: unknown): value is string {
	return typeof value === 'string' && value.length <= maxCallerLength && !hasNul(value);
}

/** The frames that carry nothing but who asked. */
function decodeCallerFrame(type: CallerFrameType): RequestDecoder {
	return (fields, head, fail) => {
		const caller = fields['caller'];
		return isCaller(caller) ? {type, ...head, caller} : fail('malformed', callerMessage);
	};
}

function decodePin(fields: Fields, head: RequestHead, fail: Fail): RequestFrame | ProtocolError {
	const {caller, serial} = fields;
	if (!isCaller(caller)) {
		return fail('malformed', callerMessage);
	}

	if (typeof serial !== 'string' || !serialPattern.test(serial)) {
		return fail('malformed', 'field "serial" must be a certificate serial in hex');
	}

	return {type: 'pin', ...head, caller, serial};
}

function decodeCertificate(fields: Fields, head: RequestHead, fail: Fail): RequestFrame | ProtocolError {
	const certificate = fields['certificate'];
	if (typeof certificate !== 'string' || !certificate.startsWith('-----BEGIN CERTIFICATE-----')) {
		return fail('malformed', 'field "certificate" must be a PEM certificate');
	}

	return {type: 'certificate', ...head, certificate};
}

function decodeRun(fields: Fields, head: RequestHead, fail: Fail): RunFrame | ProtocolError {
	const {script, args, caller, timeoutMs, dryRun} = fields;
	const wrongClaim = checkRunClaims(fields, fail);
	if (wrongClaim !== undefined) {
		return wrongClaim;
	}

	if (typeof script !== 'string') {
		return fail('malformed', 'field "script" must be a string');
	}

	if (!Array.isArray(args) || !args.every(argument => typeof argument === 'string')) {
		return fail('malformed', 'field "args" must be an array of strings');
	}

	if (!isCaller(caller)) {
		return fail('malformed', callerMessage);
	}

	if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)) {
		return fail('malformed', 'field "timeoutMs" must be a positive integer');
	}

	if (dryRun !== undefined && typeof dryRun !== 'boolean') {
		return fail('malformed', 'field "dryRun" must be a boolean');
	}

	return {
		type: 'run',
		...head,
		script,
		args: Object.freeze([...args]) as string[],
		caller,
		...(timeoutMs === undefined ? {} : {timeoutMs}),
		...(dryRun === undefined ? {} : {dryRun}),
		...runClaims(fields),
	};
}

/** The run's optional claims (who, from where, under which token or approval, planned from which entry), checked first. */
function checkRunClaims(fields: Fields, fail: Fail): ProtocolError | undefined {
	const {token, controllerHead, callerSource, client, approval, entryDigest} = fields;
	if (entryDigest !== undefined && (typeof entryDigest !== 'string' || !sha256Pattern.test(entryDigest))) {
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

	return undefined;
}

/** The claims checkRunClaims passed, each present only when sent. */
function runClaims(fields: Fields): Partial<RunFrame> {
	const {token, controllerHead, callerSource, client, approval, entryDigest} = fields;
	return {
		...(token === undefined ? {} : {token: token as TokenClaim}),
		...(controllerHead === undefined ? {} : {controllerHead: controllerHead as SignedHead}),
		...(callerSource === undefined ? {} : {callerSource: callerSource as string}),
		...(client === undefined ? {} : {client: client as string}),
		...(approval === undefined ? {} : {approval: approval as ApprovalClaim}),
		...(entryDigest === undefined ? {} : {entryDigest: entryDigest as string}),
	};
}
