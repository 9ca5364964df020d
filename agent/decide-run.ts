/**
 * The execution boundary, in order: the script name's pattern and the argument limits (both
 * before any lookup), the allowlist, the digest of the entry a run was planned with against the
 * entry now (planned-entry.ts), the files re-checked against what was loaded (the script and
 * each `#!` interpreter), a two-person approval's digest of the entry against the entry now
 * (approved-entry.ts), the argument schema, and no `-`-leading argument where the schema
 * declares no option (option-args.ts). Returns the entry to run with what the file check opened,
 * or a refusal with its reason. The file check is a port; whatever it opened is the caller's to
 * close, whatever the decision.
 */
import {checkArgs} from '../source/protocol/args.js';
import {describeSchemaError} from '../source/protocol/schema-error.js';
import {undeclaredOption} from '../source/protocol/option-args.js';
import type {RunFrame} from '../source/protocol/frames.js';
import {hasControl, isScriptName} from '../source/protocol/text-checks.js';
import {changedFile, type ExecIdentity} from './allowlist.js';
import {approvedEntryProblem} from './approved-entry.js';
import {plannedEntryProblem} from './planned-entry.js';
import type {LoadedAllowlist, LoadedEntry} from './loaded-allowlist.js';

/** `entryChanged`: refused because the run was planned with another entry than this one (planned-entry.ts). */
export type RunDecision<Checked> = {ok: true; loaded: LoadedEntry; checked: Checked} | {ok: false; reason: string; entryChanged?: true};

export function decideRun<Checked extends {identity: ExecIdentity}>(frame: RunFrame, allowlist: LoadedAllowlist, recheck: (loaded: LoadedEntry) => ({ok: true} & Checked) | {ok: false; reason: string}, agentName: string): RunDecision<Checked> {
	if (!isScriptName(frame.script) || hasControl(frame.script)) {
		return {ok: false, reason: `script name ${JSON.stringify(frame.script)} is not a valid name ([a-z0-9][a-z0-9._-]*)`};
	}

	// Like the name, the arguments' own limits (a NUL byte, count, size) are checked before any lookup.
	const argsProblem = checkArgs(frame.args);
	if (argsProblem) {
		return {ok: false, reason: `arguments refused: ${argsProblem}`};
	}

	const loaded = allowlist.get(frame.script);
	if (!loaded) {
		return {ok: false, reason: `script ${frame.script} is not on ${agentName}'s allowlist`};
	}

	if (loaded.problem !== undefined || loaded.identity === undefined) {
		return {ok: false, reason: `script ${frame.script} is refused: ${loaded.problem ?? 'not checked'}`};
	}

	const unplanned = plannedEntryProblem(frame.entryDigest, loaded, agentName);
	if (unplanned !== undefined) {
		return {ok: false, reason: `script ${frame.script} is refused: ${unplanned}`, entryChanged: true};
	}

	const check = recheck(loaded);
	if (!check.ok) {
		return {ok: false, reason: `script ${frame.script} is refused: ${check.reason}`};
	}

	const changed = changedFile(check.identity, loaded.identity);
	if (changed !== undefined) {
		return {ok: false, reason: changedSinceLoad(frame.script, changed)};
	}

	const unapproved = approvedEntryProblem(frame.approval, loaded, agentName);
	if (unapproved !== undefined) {
		return {ok: false, reason: `script ${frame.script} is refused: ${unapproved}`};
	}

	if (loaded.validate && !loaded.validate(frame.args)) {
		return {ok: false, reason: `arguments refused by ${frame.script}'s schema: ${describeSchemaError(loaded.validate)}`};
	}

	const dashed = loaded.validate ? undeclaredOption(frame.args, loaded.entry.args) : undefined;
	if (dashed) {
		return {ok: false, reason: `arguments refused: argument ${dashed.index + 1} ${JSON.stringify(dashed.value)} begins with "-" where ${frame.script}'s schema declares no option (mark that position "option": true, or list the value in its "enum")`};
	}

	return {ok: true, loaded, checked: check};
}

/** The refusal of a run whose file `path` (the script or an interpreter) is not what was loaded. */
export function changedSinceLoad(script: string, path: string): string {
	return `script ${script} is refused: ${path} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`;
}
