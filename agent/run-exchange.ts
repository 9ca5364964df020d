/**
 * One run request as execute-run.ts works through it: the frozen arguments, what every log line and
 * audit record of it carries (secret arguments shown only as hashes), and the two ways it answers —
 * a result frame carrying this agent's latest signed audit head, or a refusal (logged, recorded,
 * answered, its reason scrubbed of secret arguments). The field lists are pure (runFields, hookRequest).
 */
import {argsHash} from '../source/audit/record.js';
import {encodeFrame} from '../source/protocol/encode.js';
import type {ResultFrame, RunFrame, SignedHead} from '../source/protocol/frames.js';
import {redactArgs, scrubSecrets, secretArgsOf} from '../source/protocol/secret-args.js';
import type {HookContext} from './auth-hook.js';
import {noRecorder, type AgentRecorder, type RunContext} from './run-context.js';
import type {ScriptOutcome} from './run-script.js';

export type RunExchange = {
	frame: RunFrame;
	context: RunContext;
	args: readonly string[];
	recorder: AgentRecorder;
	/** What every log line and record of this run carries. */
	logged: Record<string, unknown>;
	/** A text with the secret arguments replaced by their hashes. */
	scrub: (text: string) => string;
	send: (line: string) => void;
	answer: (outcome: ScriptOutcome) => void;
	/** `entryChanged`: the run was planned with another entry (planned-entry.ts); the result says so. */
	refuse: (status: 'denied' | 'error' | 'cancelled', unscrubbed: string, entryChanged?: true) => Promise<void>;
};

export function runExchange(frame: RunFrame, context: RunContext, send: (line: string) => void): RunExchange {
	const recorder = context.recorder ?? noRecorder;
	const args = Object.freeze([...frame.args]);
	// Arguments the script's schema marks secret are kept and shown only as hashes; the hook and the script get them as they are.
	const secret = secretArgsOf(context.allowlist.get(frame.script)?.entry.args);
	const scrub = (text: string) => scrubSecrets(text, args, secret);
	const logged = runFields(frame, context, redactArgs(args, secret), argsHash(args));
	const answer = (outcome: ScriptOutcome, entryChanged?: true) => {
		send(encodeFrame({...resultFrame(frame.id, outcome, recorder.signedHead()), ...(entryChanged ? {entryChanged} : {})}));
	};

	return {
		frame,
		context,
		args,
		recorder,
		logged,
		scrub,
		send,
		answer,
		async refuse(status, unscrubbed, entryChanged) {
			const reason = scrub(unscrubbed);
			context.log('run.refused', {...logged, status, reason});
			await recorder.record('run.refused', {...logged, status, reason}).catch(() => undefined);
			answer(notRun(status, reason), entryChanged);
		},
	};
}

/** A result for a run that did not start: no exit, no output. */
export function notRun(status: ScriptOutcome['status'], reason: string): ScriptOutcome {
	return {status, exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason};
}

/** The decision's reason when no auth hook is configured. */
export const noHookReason = 'allowlisted; no auth hook configured';

/** A dry run's answer: it would run, with the hook's reason when a hook decided (`hookReason`). Pure. */
export function dryRunAnswer(hookReason: string | undefined): ScriptOutcome {
	return notRun('ok', hookReason === undefined ? 'dry run: would run' : `dry run: would run (${hookReason})`);
}

/** What every log line and audit record of a run carries. Pure. */
export function runFields(frame: RunFrame, context: Pick<RunContext, 'agentName' | 'peer'>, shownArgs: readonly string[], hash: string): Record<string, unknown> {
	return {
		requestId: frame.id,
		agent: context.agentName,
		script: frame.script,
		args: shownArgs,
		argsHash: hash,
		caller: frame.caller,
		token: frame.token ? {id: frame.token.id, name: frame.token.name} : undefined,
		source: context.peer.address,
		...(frame.callerSource ? {callerSource: frame.callerSource} : {}),
		...(frame.client ? {client: frame.client} : {}),
		...(frame.approval ? {approvalId: frame.approval.id} : {}),
		controllerSerial: context.peer.serial,
	};
}

/** What the auth hook is asked about a run. Pure. */
export function hookRequest(frame: RunFrame, context: Pick<RunContext, 'agentName' | 'agentTags' | 'peer'>, args: readonly string[], now: number): HookContext {
	return {
		requestId: frame.id,
		agent: {name: context.agentName, tags: context.agentTags ?? {}},
		script: frame.script,
		args,
		caller: frame.caller,
		token: frame.token ?? null,
		source: context.peer.address,
		callerSource: frame.callerSource ?? null,
		timestamp: new Date(now).toISOString(),
		dryRun: frame.dryRun === true,
		approval: frame.approval ?? null,
	};
}

export function resultFrame(id: string, outcome: ScriptOutcome, agentHead: SignedHead | undefined): Omit<ResultFrame, 'v'> {
	return {type: 'result', id, ...outcome, ...(agentHead ? {agentHead} : {})};
}
