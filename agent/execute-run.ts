/**
 * One run request from receipt to result: decide (execution boundary), wait for a slot, run the
 * script, stream its output as frames, answer one `result`. Every decision is logged.
 */
import {limits, type ResultFrame, type RunFrame} from '../source/protocol/frames.js';
import {encodeFrame} from '../source/protocol/encode.js';
import {inspectScriptFile, type Owners} from './allowlist.js';
import {decideRun} from './decide-run.js';
import type {AgentLimits} from './home.js';
import type {LoadedAllowlist} from './loaded-allowlist.js';
import {runScript, scriptEnvironment, type ScriptOutcome} from './run-script.js';
import type {RunSlots} from './run-slots.js';

export type AgentLog = (event: string, fields: Record<string, unknown>) => void;

export type RunContext = {
	agentName: string;
	allowlist: LoadedAllowlist;
	ownersFor: (runAs: string | undefined) => Owners | string;
	runAsIds: (runAs: string | undefined) => {uid?: number; gid?: number};
	limits: AgentLimits;
	workingDirectory: string;
	slots: RunSlots;
	log: AgentLog;
	now: () => number;
	peer: {address: string; serial: string};
};

export async function executeRun(frame: RunFrame, context: RunContext, send: (line: string) => void, cancel: AbortSignal): Promise<void> {
	const {log, peer} = context;
	const logged = {requestId: frame.id, script: frame.script, args: frame.args, caller: frame.caller, source: peer.address, controllerSerial: peer.serial};
	log('request.received', logged);
	const refuse = (status: 'denied' | 'error' | 'cancelled', reason: string) => {
		log('run.refused', {...logged, status, reason});
		send(encodeFrame(resultFrame(frame.id, {status, exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason})));
	};

	const decision = decideRun(frame, context.allowlist, loaded => {
		const owners = context.ownersFor(loaded.entry.runAs);
		return typeof owners === 'string' ? {ok: false, reason: owners} : inspectScriptFile(loaded.entry.path, owners);
	}, context.agentName);
	if (!decision.ok) {
		refuse('denied', decision.reason);
		return;
	}

	log('decision', {...logged, allowed: true, reason: 'allowlisted'});
	if (frame.dryRun) {
		send(encodeFrame(resultFrame(frame.id, {status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: would run'})));
		return;
	}

	const release = await context.slots.acquire(cancel);
	if (typeof release === 'string') {
		refuse(cancel.aborted ? 'cancelled' : 'error', release);
		return;
	}

	const {entry} = decision.loaded;
	const timeoutMs = Math.min(entry.timeoutSeconds * 1000, frame.timeoutMs ?? Number.POSITIVE_INFINITY);
	let outcome: ScriptOutcome;
	try {
		outcome = await runScript({
			path: entry.path,
			args: frame.args,
			env: scriptEnvironment({requestId: frame.id, caller: frame.caller, script: frame.script}),
			cwd: context.workingDirectory,
			...context.runAsIds(entry.runAs),
			timeoutMs,
			outputCapBytes: context.limits.outputCapBytes,
			killGraceMs: context.limits.killGraceMs,
			cancelSignal: cancel,
			now: context.now,
			onStarted() {
				log('run.start', logged);
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

	log('run.finish', {...logged, status: outcome.status, exitCode: outcome.exitCode, signal: outcome.signal, durationMs: outcome.durationMs, bytes: outcome.bytes, truncated: outcome.truncated, reason: outcome.reason});
	send(encodeFrame(resultFrame(frame.id, outcome)));
}

function resultFrame(id: string, outcome: ScriptOutcome): Omit<ResultFrame, 'v'> {
	return {type: 'result', id, ...outcome};
}
