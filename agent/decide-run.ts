/**
 * The execution boundary, in order: the script name's pattern and the argument limits (both
 * before any lookup), the allowlist, the file re-checked against what was loaded, the argument
 * schema. Returns the entry to run or a refusal with its reason. The file check is a port.
 */
import {checkArgs} from '../source/protocol/args.js';
import {describeSchemaError} from '../source/protocol/args-schema.js';
import type {RunFrame} from '../source/protocol/frames.js';
import {hasControl, isScriptName} from '../source/protocol/text-checks.js';
import {changedFile, type ExecIdentity} from './allowlist.js';
import type {LoadedAllowlist, LoadedEntry} from './loaded-allowlist.js';

export type RunDecision<Checked> = {ok: true; loaded: LoadedEntry; checked: Checked} | {ok: false; reason: string};

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

	const check = recheck(loaded);
	if (!check.ok) {
		return {ok: false, reason: `script ${frame.script} is refused: ${check.reason}`};
	}

	const changed = changedFile(check.identity, loaded.identity);
	if (changed !== undefined) {
		return {ok: false, reason: `script ${frame.script} is refused: ${changed} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`};
	}

	if (loaded.validate && !loaded.validate(frame.args)) {
		return {ok: false, reason: `arguments refused by ${frame.script}'s schema: ${describeSchemaError(loaded.validate)}`};
	}

	return {ok: true, loaded, checked: check};
}
