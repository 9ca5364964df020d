/**
 * The wire protocol shared by controller and agent: newline-delimited JSON frames over TLS,
 * readable with `openssl s_client`. Every frame carries the protocol version `v`, a `type` and
 * the request id `id`. Requests (controller → agent) also carry a unique message id `msg` and a
 * timestamp `ts`, so an agent can refuse a replayed or stale message.
 *
 *   controller → agent   describe | run | cancel | status | renew, certificate | pin | unpair
 *   agent → controller   description | started | stdout | stderr | result | ack | error
 *                        | csr, renewed | pinned | unpaired
 *
 * A run streams `started`, any number of `stdout`/`stderr` chunks, then exactly one `result`.
 * A `cancel` (on the run's own connection or a new one) is answered with an `ack` saying whether
 * a run with that request id was found; the run itself then ends with a `cancelled` result.
 *
 * Certificates over time use the same pinned channel: `renew` makes the agent create a new key
 * and answer with a `csr`; the controller sends the issued `certificate` on that connection and
 * the agent answers `renewed` once it serves with it. `pin` announces the controller's next
 * certificate serial (answered `pinned`); `unpair` makes the agent delete its credentials.
 *
 * `status` is the relay's (refused over direct TLS, where the run's own connection carries its
 * result): a controller that lost a run's replies on the broker asks for the request's status; the
 * agent answers `ack` (found: whether it knows the request) and, once the run has ended, sends its
 * signed result again, exactly as first sent (agent/relay-results.ts).
 */
export const protocolVersion = 1 as const;

export const limits = {
	/** Largest frame a controller may send (a run request with its arguments). */
	requestFrameBytes: 64 * 1024,
	/** Largest frame an agent may send (an output chunk, a description with schemas). */
	responseFrameBytes: 1024 * 1024,
	/** Output is sent in chunks of at most this many bytes of text. */
	outputChunkBytes: 16 * 1024,
	/** JSON nesting depth accepted in any frame. */
	depth: 32,
	/** Arguments: how many, the size of each, and their total size (UTF-8 bytes). */
	argCount: 64,
	argBytes: 8 * 1024,
	argsTotalBytes: 32 * 1024,
	/** A request's timestamp must be within this many milliseconds of the agent's clock. */
	clockSkewMs: 5 * 60 * 1000,
} as const;

export const runStatuses = ['ok', 'failed', 'denied', 'unreachable', 'timeout', 'cancelled', 'skipped', 'error'] as const;
export type RunStatus = (typeof runStatuses)[number];

/** What an agent itself can answer; `unreachable` and `skipped` are decided by the controller. */
export const agentStatuses = ['ok', 'failed', 'denied', 'timeout', 'cancelled', 'error'] as const satisfies readonly RunStatus[];
export type AgentStatus = (typeof agentStatuses)[number];

type RequestBase = {v: typeof protocolVersion; id: string; msg: string; ts: number};

export type DescribeFrame = RequestBase & {
	type: 'describe';
	/** The controller will send a run on this connection after the description, if the agent keeps it open (`openForRun`). */
	keepOpen?: true;
};
export type RunFrame = RequestBase & {
	type: 'run';
	script: string;
	args: string[];
	caller: string;
	timeoutMs?: number;
	dryRun?: boolean;
	/** The scope of the caller's token, when it presented one (never the token itself). */
	token?: TokenClaim;
	/** The controller audit log's latest signed head, which the agent records as a witness. */
	controllerHead?: SignedHead;
	/** Where the caller reached the controller from (the REST API client's address), for the hook and the audit trail. */
	callerSource?: string;
	/** The program the caller used, as it declared itself (an MCP client's name and version, and the transport), for the audit trail. */
	client?: string;
	/** The approval this run executes (two-person approval): the agent records its id and hands it to the hook. */
	approval?: ApprovalClaim;
	/**
	 * The digest of this host's allowlist entry for the script that the controller planned the run
	 * with, taken from its cache of the host's last description instead of asking first
	 * (run/entry-digest.ts): the agent refuses the run, before anything else of it, when its entry
	 * now has another (`entryChanged` on the result), and the controller asks again.
	 */
	entryDigest?: string;
};

/**
 * What a run carries of its approval: the request's id, who approved (token names), when, and the
 * approved plan's hash; sent to a host, also the digest of that host's allowlist entry for the
 * script as the approved plan holds it (run/entry-digest.ts), which the agent compares with its
 * entry as it is when the run arrives (agent/approved-entry.ts).
 */
export type ApprovalClaim = {id: string; approvers: string[]; at: string; planHash: string; entryDigest?: string};

export type TokenClaim = {id: string; name: string; scripts: string[]; on: string[]; expiresAt: string | null};
export type SignedHead = {log: string; seq: number; hash: string; signature: string; keyId: string};
export type CancelFrame = RequestBase & {type: 'cancel'; caller: string};
export type StatusFrame = RequestBase & {type: 'status'; caller: string};
export type RenewFrame = RequestBase & {type: 'renew'; caller: string};
export type CertificateFrame = RequestBase & {type: 'certificate'; certificate: string};
export type PinFrame = RequestBase & {type: 'pin'; caller: string; serial: string};
export type UnpairFrame = RequestBase & {type: 'unpair'; caller: string};
export type RequestFrame = DescribeFrame | RunFrame | CancelFrame | StatusFrame | RenewFrame | CertificateFrame | PinFrame | UnpairFrame;

type ResponseBase = {v: typeof protocolVersion; id: string};

export type ScriptDescription = {
	name: string;
	description: string;
	args?: unknown;
	timeoutSeconds: number;
	maxTargets?: number;
	confirm?: boolean;
	/** The allowlist entry declares that the script changes nothing. */
	readOnly?: boolean;
	/**
	 * SHA-256 of the entry as the agent loaded it (path, interpreter, runAs, schema, limits, and the
	 * identity of the files that execute): changes when the entry or its script does (after a reload).
	 * Absent from agents before it.
	 */
	digest?: string;
};
export type DescriptionFrame = ResponseBase & {
	type: 'description';
	agent: {name: string; tags: Record<string, string>};
	scripts: ScriptDescription[];
	/**
	 * Asked with `keepOpen`: the agent keeps this connection open for one `run` (until its idle
	 * timeout), saving the run a handshake. Absent, the agent closes the connection after the
	 * description (not asked, or an agent before this field).
	 */
	openForRun?: true;
	/** This agent refuses a run whose `entryDigest` is not its entry's (absent from agents before it): a controller may plan from this description later. */
	checksEntry?: true;
};
export type StartedFrame = ResponseBase & {type: 'started'};
export type OutputFrame = ResponseBase & {type: 'stdout' | 'stderr'; data: string};
export type ResultFrame = ResponseBase & {
	type: 'result';
	status: AgentStatus;
	exitCode: number | null;
	signal: string | null;
	durationMs: number;
	truncated: boolean;
	bytes: {stdout: number; stderr: number};
	reason?: string;
	/** The agent audit log's latest signed head, which the controller records as a witness. */
	agentHead?: SignedHead;
	/** Refused because the run's `entryDigest` is not the entry's now: nothing ran; the controller's description was stale. */
	entryChanged?: true;
};
export type AckFrame = ResponseBase & {type: 'ack'; found: boolean};
export type CsrFrame = ResponseBase & {type: 'csr'; csr: string};
export type RenewedFrame = ResponseBase & {type: 'renewed'; serial: string; notAfter: string};
export type PinnedFrame = ResponseBase & {type: 'pinned'; serials: string[]};
export type UnpairedFrame = ResponseBase & {type: 'unpaired'};
export const protocolErrorCodes = [
	'malformed',
	'forbidden',
	'too-large',
	'unsupported-version',
	'unknown-type',
	'replayed',
	'stale',
	'timeout',
	'busy',
	/** The controller's certificate is the fleet's, but its serial is not pinned here (a rotation not announced to this agent). */
	'unpinned',
	/** A fault of the side that sends it (a bug, an exception), not of the request; an older peer reads it as malformed. */
	'internal',
] as const;
export type ProtocolErrorCode = (typeof protocolErrorCodes)[number];
export type ErrorFrame = ResponseBase & {type: 'error'; code: ProtocolErrorCode; message: string};
export type ResponseFrame = DescriptionFrame | StartedFrame | OutputFrame | ResultFrame | AckFrame | ErrorFrame | CsrFrame | RenewedFrame | PinnedFrame | UnpairedFrame;

export type Frame = RequestFrame | ResponseFrame;

/** A request id names one run everywhere: frames, audit records on both sides, history. */
export const requestIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/;
/** The id used on an error frame when the offending frame's own id could not be read. */
export const unknownRequestId = '-';
