/** Runs one request on one agent and turns however the exchange ended into exactly one result. */
import {exchange, type AgentTarget, type ExchangeEnd, type ExchangeOptions, type ClientContext} from './link-exchange.js';
import type {ConnectionHold} from './held-connections.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {unknownRequestId, type ResponseFrame, type RunFrame} from '../protocol/frames.js';
import {approvalFor, type AgentRunRequest} from '../run/agent-request.js';
import {collectNotes, type AgentNotes} from '../run/agent-notes.js';
import type {SeenVia} from '../registry/model.js';

export type {AgentRunRequest} from '../run/agent-request.js';

export type AgentRunOptions = {
	context: ClientContext;
	/** Agent certificate serials refused (unpaired, superseded). */
	revoked?: ReadonlySet<string>;
	connectTimeoutMs: number;
	/** How long past the script's own timeout we wait for the agent's answer. */
	answerGraceMs: number;
	cancel: AbortSignal;
	emit: (event: RunEvent) => void;
	/**
	 * The controller's credentials as they are now, when they changed since `context` was made (a
	 * rotation completed during this run): an agent that has already retired the old serial
	 * refuses the connection before anything runs, and the run is retried once with these.
	 */
	freshContext?: () => ClientContext | undefined;
	/** Connections kept from the run's describe: the run goes over the agent's, when there is one. */
	hold?: ConnectionHold;
};

export async function runOnAgent(target: AgentTarget, request: AgentRunRequest, options: AgentRunOptions): Promise<AgentResult> {
	const host = new HostRun(target.name, request, options);
	const startedAt = Date.now();
	options.emit({type: 'agent-connecting', agent: target.name});
	// The host is the exchange's options, and any retry's: the links read them as they are, copying nothing.
	// A frame of its own for each attempt: the exchange seals its secret arguments in place.
	let end = await exchange(target, runFrame(target.name, request), host);
	if (refusedOldControllerSerial(end)) {
		const fresh = options.freshContext?.();
		if (fresh) {
			host.context = fresh;
			end = await exchange(target, runFrame(target.name, request), host);
		}
	}

	return resultOf(end, host.base(Date.now() - startedAt), host.deadlineMs, options.cancel.aborted);
}

/** The cancel an exchange sends when `signal` aborts; its caller is read then: the agent records who cancelled, or which timeout did. */
class HostCancel {
	constructor(readonly signal: AbortSignal, private readonly runCaller: string, readonly graceMs: number) {}

	// On the prototype, not in an object literal per host (a literal with a getter is built by the runtime, ~0.5 µs).
	get caller(): string {
		return cancelledBy(this.runCaller, this.signal.reason);
	}
}

/**
 * One host's run: the options its exchange is given, and what the exchange reports, its output so
 * far (none in a dry run), notes and link. The exchange calls onFrame, onNotice and onVia as
 * methods of its options (link-exchange.ts), so they are on the prototype: no closure per host.
 */
class HostRun implements ExchangeOptions {
	context: ClientContext;
	readonly revoked: ReadonlySet<string> | undefined;
	readonly hold: ConnectionHold | undefined;
	readonly sealArgs: readonly number[] | undefined;
	readonly connectTimeoutMs: number;
	readonly deadlineMs: number;
	readonly cancel: HostCancel;
	private stdout = '';
	private stderr = '';
	private via: SeenVia | undefined;
	private notes: AgentNotes | undefined;
	private readonly emit: (event: RunEvent) => void;
	private readonly dryRun: boolean;

	constructor(private readonly agent: string, request: AgentRunRequest, options: AgentRunOptions) {
		this.context = options.context;
		this.revoked = options.revoked;
		this.hold = options.hold;
		this.sealArgs = request.secretPositions?.length ? request.secretPositions : undefined;
		this.connectTimeoutMs = options.connectTimeoutMs;
		this.deadlineMs = request.timeoutMs + options.answerGraceMs;
		this.cancel = new HostCancel(options.cancel, request.caller, options.answerGraceMs);
		this.emit = options.emit;
		this.dryRun = request.dryRun;
	}

	// A dry run runs nothing: output frames an agent sends anyway are dropped here, neither held nor passed on.
	onFrame(frame: ResponseFrame): void {
		if (frame.type === 'started') {
			this.emit({type: 'agent-started', agent: this.agent});
		} else if ((frame.type === 'stdout' || frame.type === 'stderr') && !this.dryRun) {
			this[frame.type] += frame.data;
			this.emit({type: 'agent-output', agent: this.agent, stream: frame.type, data: frame.data});
		}
	}

	onNotice(note: string): void {
		(this.notes ??= collectNotes()).add(note);
	}

	onVia(via: SeenVia): void {
		this.via = via;
	}

	/** What every result of this host holds, whatever the exchange's end (the keys in the order results have always had). */
	base(durationMs: number): ResultBase {
		const base: ResultBase = {agent: this.agent, exitCode: null, signal: null, stdout: this.stdout, stderr: this.stderr, truncated: false, durationMs};
		if (this.via) {
			base.via = this.via;
		}

		const noted = this.notes?.list();
		if (noted?.length) {
			base.notes = noted;
		}

		return base;
	}
}

/** The run frame for one agent: the request, with this agent's approval and planned entry (optional fields only when set). */
function runFrame(agent: string, request: AgentRunRequest): Omit<RunFrame, 'v' | 'msg' | 'ts'> {
	const frame: Omit<RunFrame, 'v' | 'msg' | 'ts'> = {type: 'run', id: request.requestId, script: request.script, args: [...request.args], caller: request.caller, timeoutMs: request.timeoutMs};
	if (request.dryRun) {
		frame.dryRun = true;
	}

	if (request.token) {
		frame.token = request.token;
	}

	if (request.controllerHead) {
		frame.controllerHead = request.controllerHead;
	}

	if (request.callerSource) {
		frame.callerSource = request.callerSource;
	}

	if (request.client) {
		frame.client = request.client;
	}

	const approval = approvalFor(request, agent);
	if (approval) {
		frame.approval = approval;
	}

	const planned = request.plannedEntries?.[agent];
	if (typeof planned === 'string') {
		frame.entryDigest = planned;
	}

	return frame;
}

type ResultBase = Omit<AgentResult, 'status'>;

/** However the exchange ended, as exactly one result: `base` completed in place. */
function resultOf(end: ExchangeEnd, base: ResultBase, deadlineMs: number, cancelled: boolean): AgentResult {
	const result = base as AgentResult;
	switch (end.kind) {
		case 'terminal': {
			const {frame} = end;
			if (frame.type === 'result') {
				result.status = frame.status;
				result.exitCode = frame.exitCode;
				result.signal = frame.signal;
				result.truncated = frame.truncated;
				result.durationMs = frame.durationMs;
				if (frame.reason !== undefined) {
					result.reason = frame.reason;
				}

				if (frame.agentHead !== undefined) {
					result.agentHead = frame.agentHead;
				}

				if (frame.entryChanged) {
					result.entryChanged = true;
				}

				return result;
			}

			result.status = 'error';
			// A refusal of the connection itself (id "-") already reads "refused: why"; say it once.
			result.reason = frame.type === 'error'
				? `the agent refused the ${frame.id === unknownRequestId ? 'connection' : 'request'} (${frame.code}): ${frame.message.replace(/^refused: /, '')}`
				: `the agent answered a run with a ${frame.type} frame`;
			return result;
		}

		case 'unreachable': {
			result.status = cancelled ? 'skipped' : 'unreachable';
			result.reason = end.reason;
			return result;
		}

		case 'lost': {
			result.status = 'unreachable';
			result.reason = end.reason;
			return result;
		}

		case 'deadline': {
			result.status = 'timeout';
			result.reason = `no answer from the agent within ${Math.round(deadlineMs / 1000)} s`;
			return result;
		}

		case 'protocol': {
			result.status = 'error';
			result.reason = end.reason;
			return result;
		}
	}
}

/** The agent's connection-level refusal of a controller serial it no longer pins (nothing ran). */
function refusedOldControllerSerial(end: ExchangeEnd): boolean {
	return end.kind === 'terminal' && end.frame.type === 'error' && end.frame.id === unknownRequestId && end.frame.code === 'unpinned';
}

/** What the cancel frame names as its caller: the run's caller, and the timeout when one fired. */
export function cancelledBy(caller: string, reason: unknown): string {
	return reason === 'run-timeout' || reason === 'idle-timeout' ? `${caller} (--${reason})` : caller;
}
