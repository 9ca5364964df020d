/**
 * One error class and one registry of codes, as fastify's lib/errors.js does. Every code names
 * its exit status (CLI) and HTTP status (API) and a one-line summary; the README's error table
 * lists every code (a test checks it).
 */
export const errorCodes = {
	USAGE: {exit: 2, http: 400, summary: 'A flag or argument is missing or malformed.'},
	NOT_INITIALISED: {exit: 2, http: 500, summary: 'The home directory has no keys yet: run `init` first.'},
	ALREADY_INITIALISED: {exit: 2, http: 409, summary: '`init` found existing keys and will not overwrite them.'},
	CONFIG_INVALID: {exit: 2, http: 500, summary: 'A configuration or state file cannot be read or is malformed.'},
	UNSAFE_ENVIRONMENT: {exit: 2, http: 500, summary: 'NODE_TLS_REJECT_UNAUTHORIZED=0 is set; both executables refuse to start with it.'},
	NAME_INVALID: {exit: 2, http: 400, summary: 'An agent or script name does not match its pattern.'},
	SELECTOR_INVALID: {exit: 2, http: 400, summary: 'A `--on` selector is malformed.'},
	NO_TARGETS: {exit: 2, http: 404, summary: 'The selector matched no registered agent.'},
	ARGS_INVALID: {exit: 2, http: 400, summary: 'Script arguments break a limit (count, size, NUL byte) or the script\'s schema.'},
	SCHEMA_INVALID: {exit: 2, http: 400, summary: 'An argument schema is too large, not JSON Schema 2020-12, or uses a remote $ref.'},
	SCRIPT_UNSAFE: {exit: 2, http: 400, summary: 'An allowlisted path fails a safety check (not absolute, writable by others, wrong owner...).'},
	HOME_UNSAFE: {exit: 2, http: 500, summary: 'The agent\'s home, a file it trusts there, or its audit directory is writable by someone else, or a private key readable: the message names the chmod that fixes it.'},
	HOOK_UNUSABLE: {exit: 2, http: 500, summary: 'The agent refuses to start: the auth hook in its config.json is missing, not executable, or fails the allowlist\'s checks (owner, mode, interpreter).'},
	SCRIPT_UNKNOWN: {exit: 2, http: 404, summary: 'No allowlist entry has that name.'},
	AGENT_UNKNOWN: {exit: 2, http: 404, summary: 'No registered agent has that name.'},
	TAG_INVALID: {exit: 2, http: 400, summary: 'A tag breaks the tag grammar (key=value), or a key to remove is not there.'},
	TOKEN_INVALID: {exit: 2, http: 401, summary: 'The bearer token is unknown, revoked or expired.'},
	TOKEN_FILE_UNSAFE: {exit: 2, http: 400, summary: 'The --token-file is open to its group or others: chmod 600 it.'},
	OUT_OF_SCOPE: {exit: 2, http: 403, summary: 'The request reaches a script or an agent outside the token\'s scope.'},
	RUN_UNKNOWN: {exit: 2, http: 404, summary: 'No run with that request id is in the history.'},
	TOKEN_UNKNOWN: {exit: 2, http: 404, summary: 'No active token has that name.'},
	TOO_MANY_TARGETS: {exit: 2, http: 400, summary: 'A run would exceed a script\'s maxTargets, or needs --yes for a confirm script.'},
	APPROVAL_PENDING: {exit: 3, http: 409, summary: 'The run waits for approval (`--no-wait`, or `run --approved ID` before it is approved): the message names the request and who must approve.'},
	APPROVAL_UNKNOWN: {exit: 2, http: 404, summary: 'No approval request has that id (or the prefix given is not unique).'},
	APPROVAL_TOKEN_REQUIRED: {exit: 2, http: 401, summary: 'Approvals act only on an authenticated token: a run that needs approval, and every approve or reject, needs XI_EXEC_TOKEN or --token-file.'},
	APPROVAL_SELF: {exit: 2, http: 403, summary: 'The requester of a run cannot approve it (a token of the same name neither).'},
	APPROVER_NOT_ALLOWED: {exit: 2, http: 403, summary: 'The token may not act on this request: not an operator token, not named by the rule, already approved it, or (to run it) not the requester.'},
	APPROVAL_EXPIRED: {exit: 2, http: 410, summary: 'The approval request expired before it was approved or run: make a new request.'},
	APPROVAL_CLOSED: {exit: 2, http: 409, summary: 'The approval request was rejected, invalidated, or is already approved.'},
	APPROVAL_USED: {exit: 2, http: 409, summary: 'The approval was already used by a run: an approval runs once.'},
	APPROVAL_PLAN_CHANGED: {exit: 2, http: 409, summary: 'The plan resolved now differs from the approved one (a host joined or left, an allowlist or the arguments changed): the request is invalid; ask again.'},
	AGENT_EXISTS: {exit: 2, http: 409, summary: 'An agent with that name is already registered.'},
	REGISTRY_BUSY: {exit: 2, http: 503, summary: 'Another xi-exec process held the registry lock for too long.'},
	CERTIFICATE_EXPIRED: {exit: 2, http: 500, summary: 'A certificate (an agent\'s own, the controller\'s, the CA) has expired: the message names the command that replaces it.'},
	CA_UNAVAILABLE: {exit: 2, http: 503, summary: 'The CA key is kept offline or passphrase-protected and is not available now; renewals wait until it is.'},
	CERTIFICATE_INVALID: {exit: 2, http: 400, summary: 'A certificate or CSR fails verification (signature, name, role, validity).'},
	AUDIT_UNAVAILABLE: {exit: 2, http: 503, summary: 'An audit record cannot be written, so nothing is done (fail closed).'},
	AUDIT_BROKEN: {exit: 1, http: 500, summary: '`audit verify` found a broken record (edited, missing, reordered...).'},
	CLIENT_CERTIFICATE_REQUIRED: {exit: 2, http: 401, summary: 'The policy endpoint takes only a paired agent\'s client certificate, signed by the fleet CA and matching the registry.'},
	ROUTE_UNKNOWN: {exit: 2, http: 404, summary: 'No REST API route has that method and path.'},
	BODY_TOO_LARGE: {exit: 2, http: 413, summary: 'A REST API request body is over the size limit.'},
	RATE_LIMITED: {exit: 2, http: 429, summary: 'A token is over one of its limits (concurrent calls, calls per minute); wait and call again.'},
	MCP_SESSION_UNKNOWN: {exit: 2, http: 404, summary: 'No MCP session has that Mcp-Session-Id: initialize a new one.'},
	ORIGIN_REFUSED: {exit: 2, http: 403, summary: 'A request to /mcp came from a browser origin that is not in the configured list.'},
	MEDIA_TYPE_UNSUPPORTED: {exit: 2, http: 415, summary: 'A REST API request body is not sent as application/json.'},
	RUNBOOK_INVALID: {exit: 2, http: 400, summary: 'A runbook, its parameters or its steps failed validation; the message lists every problem, and nothing was dialled.'},
	RUNBOOK_UNKNOWN: {exit: 2, http: 404, summary: 'No runbook of that name is in the controller home\'s runbooks/ directory.'},
	RUNBOOK_RUN_UNKNOWN: {exit: 2, http: 404, summary: 'No runbook run with that id is in the history.'},
	RUNBOOK_CHANGED: {exit: 2, http: 409, summary: 'The runbook file changed since the run being resumed; resume with --changed-file to run the new file.'},
	RUNBOOK_RUNNING: {exit: 2, http: 409, summary: 'That runbook run is still running in another process; it cannot be resumed until it ends.'},
	RELAY_NOT_SET_UP: {exit: 2, http: 500, summary: 'The relay\'s broker has no certificate or configuration yet: run `xi-exec relay cert` and `xi-exec relay config` first.'},
	PROTOCOL: {exit: 1, http: 502, summary: 'A peer sent a frame that breaks the wire protocol.'},
	INTERNAL: {exit: 1, http: 500, summary: 'A bug: please report it with the output of `--debug`.'},
} as const satisfies Record<string, {exit: number; http: number; summary: string}>;

export type ErrorCode = keyof typeof errorCodes;

export class XiError extends Error {
	override readonly name = 'XiError';
	readonly code: ErrorCode;
	/** What to do about it, when the message does not say (`--json` prints the code's summary otherwise). */
	readonly hint: string | undefined;
	/** Fields the REST API adds to the error body beside code and message, each declared in that response's schema (APPROVAL_PENDING's `approval`); never named `code` or `message`. */
	readonly details: Readonly<Record<string, unknown>> | undefined;

	constructor(code: ErrorCode, message: string, options?: {cause?: unknown; hint?: string; details?: Readonly<Record<string, unknown>>}) {
		super(message, options?.cause === undefined ? undefined : {cause: options.cause});
		this.code = code;
		this.hint = options?.hint;
		this.details = options?.details;
	}

	get exitStatus(): number {
		return errorCodes[this.code].exit;
	}

	get httpStatus(): number {
		return errorCodes[this.code].http;
	}
}

export function isXiError(error: unknown): error is XiError {
	return error instanceof XiError;
}
