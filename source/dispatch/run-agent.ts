/** Runs one request on one agent and turns however the exchange ended into exactly one result. */
import {exchange, type AgentTarget, type ExchangeEnd, type ClientContext} from './agent-connection.js';
import type {ConnectionHold} from './held-connections.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {unknownRequestId, type RunFrame} from '../protocol/frames.js';
import {approvalFor, type AgentRunRequest} from '../run/agent-request.js';
import {collectNotes} from '../run/agent-notes.js';
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
	const output = {stdout: '', stderr: ''};
	const notes = collectNotes();
	let via: SeenVia | undefined;
	const startedAt = Date.now();
	options.emit({type: 'agent-connecting', agent: target.name});
	// A frame of its own for each attempt: the exchange seals its secret arguments in place.
	const attempt = async (context: ClientContext) => exchange(target, runFrame(target.name, request), {
		context,
		...(options.revoked ? {revoked: options.revoked} : {}),
		...(options.hold ? {hold: options.hold} : {}),
		...(request.secretPositions?.length ? {sealArgs: request.secretPositions} : {}),
		onNotice: notes.add,
		onVia(link) {
			via = link;
		},
		connectTimeoutMs: options.connectTimeoutMs,
		deadlineMs: request.timeoutMs + options.answerGraceMs,
		cancel: {
			signal: options.cancel,
			// Read when the cancel is sent: the agent records who cancelled, or which timeout did.
			get caller() {
				return cancelledBy(request.caller, options.cancel.reason);
			},
			graceMs: options.answerGraceMs,
		},
		onFrame(frame) {
			if (frame.type === 'started') {
				options.emit({type: 'agent-started', agent: target.name});
			} else if (frame.type === 'stdout' || frame.type === 'stderr') {
				output[frame.type] += frame.data;
				options.emit({type: 'agent-output', agent: target.name, stream: frame.type, data: frame.data});
			}
		},
	});

	let end = await attempt(options.context);
	if (refusedOldControllerSerial(end)) {
		const fresh = options.freshContext?.();
		if (fresh) {
			end = await attempt(fresh);
		}
	}

	const noted = notes.list();
	const base = {agent: target.name, exitCode: null, signal: null, ...output, truncated: false, durationMs: Date.now() - startedAt, ...(via ? {via} : {}), ...(noted.length > 0 ? {notes: noted} : {})};
	return resultOf(end, base, request.timeoutMs + options.answerGraceMs, options.cancel.aborted);
}

/** The run frame for one agent: the request, with this agent's approval and planned entry. */
function runFrame(agent: string, request: AgentRunRequest): Omit<RunFrame, 'v' | 'msg' | 'ts'> {
	const approval = approvalFor(request, agent);
	const planned = request.plannedEntries?.[agent];
	return {
		type: 'run',
		id: request.requestId,
		script: request.script,
		args: [...request.args],
		caller: request.caller,
		timeoutMs: request.timeoutMs,
		...(request.dryRun ? {dryRun: true} : {}),
		...(request.token ? {token: request.token} : {}),
		...(request.controllerHead ? {controllerHead: request.controllerHead} : {}),
		...(request.callerSource ? {callerSource: request.callerSource} : {}),
		...(request.client ? {client: request.client} : {}),
		...(approval ? {approval} : {}),
		...(typeof planned === 'string' ? {entryDigest: planned} : {}),
	};
}

type ResultBase = Omit<AgentResult, 'status'>;

/** However the exchange ended, as exactly one result. */
function resultOf(end: ExchangeEnd, base: ResultBase, deadlineMs: number, cancelled: boolean): AgentResult {
	switch (end.kind) {
		case 'terminal': {
			const {frame} = end;
			if (frame.type === 'result') {
				return {
					...base,
					status: frame.status,
					exitCode: frame.exitCode,
					signal: frame.signal,
					truncated: frame.truncated,
					durationMs: frame.durationMs,
					...(frame.reason === undefined ? {} : {reason: frame.reason}),
					...(frame.agentHead === undefined ? {} : {agentHead: frame.agentHead}),
					...(frame.entryChanged ? {entryChanged: true as const} : {}),
				};
			}

			if (frame.type === 'error') {
				// A refusal of the connection itself (id "-") already reads "refused: why"; say it once.
				const what = frame.id === unknownRequestId ? 'connection' : 'request';
				return {...base, status: 'error', reason: `the agent refused the ${what} (${frame.code}): ${frame.message.replace(/^refused: /, '')}`};
			}

			return {...base, status: 'error', reason: `the agent answered a run with a ${frame.type} frame`};
		}

		case 'unreachable': {
			return {...base, status: cancelled ? 'skipped' : 'unreachable', reason: end.reason};
		}

		case 'lost': {
			return {...base, status: 'unreachable', reason: end.reason};
		}

		case 'deadline': {
			return {...base, status: 'timeout', reason: `no answer from the agent within ${Math.round(deadlineMs / 1000)} s`};
		}

		case 'protocol': {
			return {...base, status: 'error', reason: end.reason};
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
