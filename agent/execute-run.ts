/**
 * One run request from receipt to result, in order: record its receipt (fail closed: without a
 * record on the disk nothing acts on the request; with no hook, the receipt and the decision share
 * one batch, so one fsync), the execution boundary (name, allowlist, file re-check, arguments,
 * schema), the auth hook (policy, fail closed), a slot, the script with its output streamed as
 * frames, and one `result` carrying this agent's latest signed audit head. Every decision is
 * recorded with its reason, and the hook and the script see the same frozen argument array.
 * The files are opened once, at the execution boundary, and what runs is what those descriptors
 * hold (open-executable.ts); they are closed when the run ends, however it ends. Just before the
 * start (after the hook and the slot), in this order: no process may hold a script an interpreter
 * reads from its file open for writing (asked of the kernel, asynchronously: writer-check.ts),
 * every file is read and checked again, and the script starts with nothing awaited in between.
 * run-exchange.ts holds what the steps share (the fields every record carries, how it answers).
 */
import {limits, type RunFrame} from '../source/protocol/frames.js';
import {encodeFrame} from '../source/protocol/encode.js';
import {askHook, type HookVerdict} from './auth-hook.js';
import {changedSinceLoad, decideRun, type RunDecision} from './decide-run.js';
import {openExecutable, type ExecutableCheck, type OpenedExecutable} from './open-executable.js';
import type {RunContext} from './run-context.js';
import {dryRunAnswer, hookRequest, noHookReason, notRun, runExchange, type RunExchange} from './run-exchange.js';
import {runScript, scriptEnvironment, type ScriptOutcome} from './run-script.js';
import {cancelledByFor, notStartedReason} from './stop-reasons.js';
import {probeWriter} from './writer-check.js';

export {noRecorder, type AgentLog, type AgentRecorder, type RunContext} from './run-context.js';

export async function executeRun(frame: RunFrame, context: RunContext, send: (line: string) => void, cancel: AbortSignal): Promise<void> {
	const run = runExchange(frame, context, send);
	context.log('request.received', run.logged);
	// Queued at once and on the disk before anything acts on the request or anything is answered
	// (unrecorded() below). Without a hook the decision is made with nothing awaited in between, so
	// both records share one batch: one write and one fsync.
	// The receipt carries the frame's message id: the replay guard's memory of it across a restart (replay-receipts.ts).
	const received = recorded(run.recorder.record('request.received', {...run.logged, dryRun: frame.dryRun === true, controllerHead: frame.controllerHead, msg: frame.msg}));
	const unrecorded = async () => unrecordedRefusal(run, await received);
	const unsafe = context.homeProblem?.();
	if (unsafe !== undefined) {
		if (!await unrecorded()) {
			await run.refuse('denied', `refused: the agent's home is unsafe: ${unsafe}; every run is refused until it is fixed`);
		}

		return;
	}

	let opened: OpenedExecutable | undefined;
	try {
		const decision = decideRun(frame, context.allowlist, loaded => {
			const owners = context.ownersFor(loaded.entry.runAs);
			const check = typeof owners === 'string' ? {ok: false as const, reason: owners} : openExecutable(loaded.entry.path, owners, loaded.entry.interpreter);
			opened = check.ok ? check.executable : undefined;
			return check;
		}, context.agentName);
		if (!decision.ok) {
			if (!await unrecorded()) {
				await run.refuse('denied', decision.reason, decision.entryChanged);
			}

			return;
		}

		const verdict = await allowedByPolicy(run, received, cancel);
		if (verdict) {
			await runAllowed(run, decision, verdict, cancel);
		}
	} finally {
		opened?.close();
	}
}

/** A record's write settled: undefined once it is on the disk, else why it could not be written. */
async function recorded(writing: Promise<void>): Promise<Error | undefined> {
	return writing.then(() => undefined, (error: unknown) => error as Error);
}

/** Refuses the run when its record could not be written (fail closed: without a record nothing runs); says whether it did. */
async function unrecordedRefusal(run: RunExchange, failure: Error | undefined): Promise<boolean> {
	if (failure === undefined) {
		return false;
	}

	await run.refuse('error', `refused: the agent cannot write its audit log (${failure.message})`);
	return true;
}

/** The run the execution boundary allowed, with the files it opened. */
type Decided = Extract<RunDecision<Extract<ExecutableCheck, {ok: true}>>, {ok: true}>;

/**
 * The auth hook's verdict (allowed without a hook), recorded, when it allows; a denial is answered
 * here. The hook is asked only once the request's receipt is on the disk; the decision is on the
 * disk, with the receipt, before anything acts on it.
 */
async function allowedByPolicy(run: RunExchange, received: Promise<Error | undefined>, cancel: AbortSignal): Promise<HookVerdict | undefined> {
	const {frame, context, logged} = run;
	if (context.hook && await unrecordedRefusal(run, await received)) {
		return undefined;
	}

	const asked = context.hook ? await askedWithinLimits(run, context.hook, cancel) : {allow: true, reason: noHookReason};
	if (asked === undefined) {
		return undefined;
	}

	// A policy's reason may quote an argument ("argument 1 ... does not match"): never a secret one.
	const verdict: HookVerdict = {allow: asked.allow, reason: run.scrub(asked.reason)};
	context.log('decision', {...logged, allowed: verdict.allow, reason: verdict.reason});
	const decided = recorded(run.recorder.record('decision', {...logged, allowed: verdict.allow, reason: verdict.reason, dryRun: frame.dryRun === true}));
	if (await unrecordedRefusal(run, (await received) ?? (await decided))) {
		return undefined;
	}

	if (!verdict.allow) {
		run.answer(notRun('denied', verdict.reason));
		return undefined;
	}

	return verdict;
}

/** The hook's answer, asked within the run limits (a process each, as a script is); a run past them is refused here, the hook not asked. */
async function askedWithinLimits(run: RunExchange, hook: NonNullable<RunContext['hook']>, cancel: AbortSignal): Promise<HookVerdict | undefined> {
	const release = await run.context.slots.hookCalls.acquire(cancel);
	if (typeof release === 'string') {
		await run.refuse(cancel.aborted ? 'cancelled' : 'error', release);
		return undefined;
	}

	let asked: HookVerdict;
	try {
		asked = await askHook(hook, hookRequest(run.frame, run.context, run.args, run.context.now()), cancel);
	} finally {
		release();
	}

	// Stopped while asked: the hook was killed, so its answer is none; refused unstarted, no decision.
	if (cancel.aborted) {
		await run.refuse('cancelled', notStartedReason(cancel.reason, 'before it started'));
		return undefined;
	}

	return asked;
}

/** An allowed run: a dry run answers "would run"; a real one waits for a slot, runs, and records how it finished. */
async function runAllowed(run: RunExchange, decision: Decided, verdict: HookVerdict, cancel: AbortSignal): Promise<void> {
	const {frame, context, logged} = run;
	const {executable} = decision.checked;
	if (frame.dryRun) {
		// What the real run would be refused just before its start, a dry run is refused too.
		const writer = await executable.writers(context.writerProbe ?? probeWriter);
		if (writer !== undefined) {
			await run.refuse('denied', `script ${frame.script} is refused: ${writer}`);
			return;
		}

		run.answer(dryRunAnswer(context.hook ? verdict.reason : undefined));
		return;
	}

	const release = await context.slots.acquire(cancel);
	if (typeof release === 'string') {
		await run.refuse(cancel.aborted ? 'cancelled' : 'error', release);
		return;
	}

	// The hook and the slot took time. Now: no writer, then every file read and checked again, then
	// the start with nothing awaited in between (and every file checked again just after it).
	const writer = await executable.writers(context.writerProbe ?? probeWriter);
	const changed = writer === undefined ? executable.changed() : undefined;
	if (writer !== undefined || changed !== undefined) {
		release();
		await run.refuse('denied', changed === undefined ? `script ${frame.script} is refused: ${writer}` : changedSinceLoad(frame.script, changed));
		return;
	}

	// A cancel or a stop while the kernel was asked: nothing starts (run-script arms the abort only once it has).
	if (cancel.aborted) {
		release();
		await run.refuse('cancelled', notStartedReason(cancel.reason, 'before it started'));
		return;
	}

	let outcome: ScriptOutcome;
	try {
		outcome = await runDecided(run, decision, cancel);
	} finally {
		release();
	}

	const finish = {...logged, status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal, durationMs: outcome.durationMs, bytes: outcome.bytes, truncated: outcome.truncated, reason: outcome.reason, cancelledBy: outcome.status === 'cancelled' ? cancelledByFor(cancel.reason, frame.caller) : undefined};
	context.log('run.finish', finish);
	await run.recorder.record('run.finish', finish).catch(() => undefined);
	run.answer(outcome);
}

/** The script, from the descriptors opened at the execution boundary, its output streamed as frames. */
async function runDecided(run: RunExchange, decision: Decided, cancel: AbortSignal): Promise<ScriptOutcome> {
	const {frame, context, logged, send} = run;
	const {entry} = decision.loaded;
	const {executable} = decision.checked;
	return runScript({
		program: executable.plan(run.args),
		descriptors: executable.descriptors,
		env: scriptEnvironment({requestId: frame.id, caller: frame.caller, script: frame.script}),
		cwd: context.workingDirectory,
		...context.runAsIds(entry.runAs),
		timeoutMs: Math.min(entry.timeoutSeconds * 1000, frame.timeoutMs ?? Number.POSITIVE_INFINITY),
		outputCapBytes: context.limits.outputCapBytes,
		killGraceMs: context.limits.killGraceMs,
		cancelSignal: cancel,
		now: context.now,
		...(context.cgroups ? {cgroups: context.cgroups, label: frame.id} : {}),
		executablePath: executable.identity.at(-1)!.path,
		changedAtStart() {
			const changed = executable.changed('started');
			return changed === undefined ? undefined : `${changedSinceLoad(frame.script, changed)}; it was killed as it started`;
		},
		onStarted() {
			context.log('run.start', logged);
			void run.recorder.record('run.start', logged).catch(() => undefined);
			send(encodeFrame({type: 'started', id: frame.id}));
		},
		onOutput(stream, text) {
			for (let start = 0; start < text.length; start += limits.outputChunkBytes / 4) {
				send(encodeFrame({type: stream, id: frame.id, data: text.slice(start, start + (limits.outputChunkBytes / 4))}));
			}
		},
	});
}
