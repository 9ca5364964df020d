/**
 * One run request from receipt to result, in order: record its receipt (fail closed: without a
 * record nothing runs), the execution boundary (name, allowlist, file re-check, arguments,
 * schema), the auth hook (policy, fail closed), a slot, the script with its output streamed as
 * frames, and one `result` carrying this agent's latest signed audit head. Every decision is
 * recorded with its reason, and the hook and the script see the same frozen argument array.
 * The files are opened once, at the execution boundary, and what runs is what those descriptors
 * hold (open-executable.ts); they are closed when the run ends, however it ends.
 */
import {argsHash} from '../source/audit/record.js';
import {limits, type ResultFrame, type RunFrame, type SignedHead} from '../source/protocol/frames.js';
import {encodeFrame} from '../source/protocol/encode.js';
import type {Owners} from './allowlist.js';
import {askHook, type HookConfig, type HookVerdict} from './auth-hook.js';
import {redactArgs, scrubSecrets, secretArgsOf} from '../source/protocol/secret-args.js';
import {decideRun} from './decide-run.js';
import {openExecutable, type OpenedExecutable} from './open-executable.js';
import type {AgentLimits} from './home.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import {runScript, scriptEnvironment, type ScriptOutcome} from './run-script.js';
import type {RunCgroups} from './run-cgroup.js';
import type {RunSlots} from './run-slots.js';
import {cancelledByFor} from './stop-reasons.js';

export type AgentLog = (event: string, fields: Record<string, unknown>) => void;

/** The agent's audit trail: resolves once the record is on disk, rejects when it cannot be written. */
export type AgentRecorder = {
	record: (event: string, fields: Record<string, unknown>) => Promise<void>;
	signedHead: () => SignedHead | undefined;
};

export const noRecorder: AgentRecorder = {record: async () => undefined, signedHead: () => undefined};

export type RunContext = {
	agentName: string;
	agentTags?: Record<string, string>;
	allowlist: LoadedAllowlist;
	ownersFor: (runAs: string | undefined) => Owners | string;
	runAsIds: (runAs: string | undefined) => {uid?: number; gid?: number};
	limits: AgentLimits;
	workingDirectory: string;
	slots: RunSlots;
	log: AgentLog;
	recorder?: AgentRecorder;
	hook?: HookConfig;
	/** The home's strict-modes problem now (a file others can write): every run is refused while there is one. */
	homeProblem?: () => string | undefined;
	now: () => number;
	peer: {address: string; serial: string};
	/** Each script in its own cgroup, when the agent can (root on cgroup v2). */
	cgroups?: RunCgroups;
};

export async function executeRun(frame: RunFrame, context: RunContext, send: (line: string) => void, cancel: AbortSignal): Promise<void> {
	const {log, peer} = context;
	const recorder = context.recorder ?? noRecorder;
	const args = Object.freeze([...frame.args]);
	// Arguments the script's schema marks secret are kept and shown only as hashes; the hook and the script get them as they are.
	const secret = secretArgsOf(context.allowlist.get(frame.script)?.entry.args);
	const scrub = (text: string) => scrubSecrets(text, args, secret);
	const logged = {
		requestId: frame.id,
		agent: context.agentName,
		script: frame.script,
		args: redactArgs(args, secret),
		argsHash: argsHash(args),
		caller: frame.caller,
		token: frame.token ? {id: frame.token.id, name: frame.token.name} : undefined,
		source: peer.address,
		...(frame.callerSource ? {callerSource: frame.callerSource} : {}),
		...(frame.client ? {client: frame.client} : {}),
		...(frame.approval ? {approvalId: frame.approval.id} : {}),
		controllerSerial: peer.serial,
	};
	const answer = (outcome: ScriptOutcome) => {
		const head = recorder.signedHead();
		send(encodeFrame(resultFrame(frame.id, outcome, head)));
	};

	const refuse = async (status: 'denied' | 'error' | 'cancelled', unscrubbed: string) => {
		const reason = scrub(unscrubbed);
		log('run.refused', {...logged, status, reason});
		await recorder.record('run.refused', {...logged, status, reason}).catch(() => undefined);
		answer({status, exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason});
	};

	log('request.received', logged);
	try {
		await recorder.record('request.received', {...logged, dryRun: frame.dryRun === true, controllerHead: frame.controllerHead});
	} catch (error) {
		await refuse('error', `refused: the agent cannot write its audit log (${(error as Error).message})`);
		return;
	}

	const unsafe = context.homeProblem?.();
	if (unsafe !== undefined) {
		await refuse('denied', `refused: the agent's home is unsafe: ${unsafe}; every run is refused until it is fixed`);
		return;
	}

	let opened: OpenedExecutable | undefined;
	try {
		await decideAndRun();
	} finally {
		opened?.close();
	}

	async function decideAndRun(): Promise<void> {
	const decision = decideRun(frame, context.allowlist, loaded => {
		const owners = context.ownersFor(loaded.entry.runAs);
		const check = typeof owners === 'string' ? {ok: false as const, reason: owners} : openExecutable(loaded.entry.path, owners, loaded.entry.interpreter);
		opened = check.ok ? check.executable : undefined;
		return check;
	}, context.agentName);
	if (!decision.ok) {
		await refuse('denied', decision.reason);
		return;
	}

	const asked: HookVerdict = context.hook
		? await askHook(context.hook, {
			requestId: frame.id,
			agent: {name: context.agentName, tags: context.agentTags ?? {}},
			script: frame.script,
			args,
			caller: frame.caller,
			token: frame.token ?? null,
			source: peer.address,
			callerSource: frame.callerSource ?? null,
			timestamp: new Date(context.now()).toISOString(),
			dryRun: frame.dryRun === true,
			approval: frame.approval ?? null,
		})
		: {allow: true, reason: 'allowlisted; no auth hook configured'};
	// A policy's reason may quote an argument ("argument 1 ... does not match"): never a secret one.
	const verdict: HookVerdict = {allow: asked.allow, reason: scrub(asked.reason)};
	log('decision', {...logged, allowed: verdict.allow, reason: verdict.reason});
	try {
		await recorder.record('decision', {...logged, allowed: verdict.allow, reason: verdict.reason, dryRun: frame.dryRun === true});
	} catch (error) {
		await refuse('error', `refused: the agent cannot write its audit log (${(error as Error).message})`);
		return;
	}

	if (!verdict.allow) {
		answer({status: 'denied', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: verdict.reason});
		return;
	}

	if (frame.dryRun) {
		answer({status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: context.hook ? `dry run: would run (${verdict.reason})` : 'dry run: would run'});
		return;
	}

	const release = await context.slots.acquire(cancel);
	if (typeof release === 'string') {
		await refuse(cancel.aborted ? 'cancelled' : 'error', release);
		return;
	}

	const {entry} = decision.loaded;
	const {executable} = decision.checked;
	const timeoutMs = Math.min(entry.timeoutSeconds * 1000, frame.timeoutMs ?? Number.POSITIVE_INFINITY);
	let outcome: ScriptOutcome;
	try {
		outcome = await runScript({
			program: executable.plan(args),
			descriptors: executable.descriptors,
			env: scriptEnvironment({requestId: frame.id, caller: frame.caller, script: frame.script}),
			cwd: context.workingDirectory,
			...context.runAsIds(entry.runAs),
			timeoutMs,
			outputCapBytes: context.limits.outputCapBytes,
			killGraceMs: context.limits.killGraceMs,
			cancelSignal: cancel,
			now: context.now,
			...(context.cgroups ? {cgroups: context.cgroups, label: frame.id} : {}),
			onStarted() {
				log('run.start', logged);
				void recorder.record('run.start', logged).catch(() => undefined);
				send(encodeFrame({type: 'started', id: frame.id}));
			},
			onOutput(stream, text) {
				for (let start = 0; start < text.length; start += limits.outputChunkBytes / 4) {
					send(encodeFrame({type: stream, id: frame.id, data: text.slice(start, start + (limits.outputChunkBytes / 4))}));
				}
			},
		});
	} finally {
		release();
	}

	const finish = {...logged, status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal, durationMs: outcome.durationMs, bytes: outcome.bytes, truncated: outcome.truncated, reason: outcome.reason, cancelledBy: outcome.status === 'cancelled' ? cancelledBy(cancel, frame.caller) : undefined};
	log('run.finish', finish);
	await recorder.record('run.finish', finish).catch(() => undefined);
	answer(outcome);
	}
}

/** Who cancelled: the caller named by the cancel frame (or why the run was stopped), else the run's own caller. */
function cancelledBy(cancel: AbortSignal, caller: string): string | undefined {
	return cancelledByFor(cancel.reason, caller);
}

function resultFrame(id: string, outcome: ScriptOutcome, agentHead: SignedHead | undefined): Omit<ResultFrame, 'v'> {
	return {type: 'result', id, ...outcome, ...(agentHead ? {agentHead} : {})};
}
