/**
 * The policy the reference hook evaluates is the one the agent accepted: at start and at every
 * reload (SIGHUP, `allow`, `deny`, `tag`) the agent reads `policy.json`, checks it whole
 * (source/policy/policy-file.ts: an unknown key anywhere is a problem), and only then copies it to
 * `policy.active.json` (0600), which the hook reads (`XI_EXEC_POLICY`). A policy.json that fails
 * stops the agent from starting; on a reload the previous policy stays in force and the agent's
 * log says why. Without policy.json there is no active policy (the hook then denies).
 */
import {lstatSync, readFileSync, rmSync, type Stats} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../source/errors.js';
import {existsSync, writeFileAtomic} from '../source/io/files.js';
import {parsePolicyFile} from '../source/policy/policy-file.js';
import type {AgentPaths} from './home.js';
import {homeModeProblem} from './home-modes.js';

export const activePolicyName = 'policy.active.json';

export type PolicyAcceptance = {state: 'accepted' | 'absent'} | {state: 'refused'; reason: string};

export function policyPaths(paths: AgentPaths) {
	return {policy: join(paths.home, 'policy.json'), active: join(paths.home, activePolicyName)};
}

export function acceptPolicy(paths: AgentPaths): PolicyAcceptance {
	const {policy, active} = policyPaths(paths);
	if (!existsSync(policy)) {
		rmSync(active, {force: true});
		return {state: 'absent'};
	}

	// Strict modes on every reload too (home-modes.ts): a policy others could write is no policy.
	let stats: Stats;
	try {
		stats = lstatSync(policy);
	} catch (error) {
		return {state: 'refused', reason: `${policy} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`};
	}

	const modes = homeModeProblem([{path: policy, kind: 'file', facts: {uid: stats.uid, mode: stats.mode, symbolicLink: stats.isSymbolicLink(), directory: stats.isDirectory()}}], process.getuid?.() ?? 0);
	if (modes) {
		return {state: 'refused', reason: modes};
	}

	let text: string;
	let parsed: ReturnType<typeof parsePolicyFile>;
	try {
		text = readFileSync(policy, 'utf8');
		parsed = parsePolicyFile(JSON.parse(text));
	} catch (error) {
		return {state: 'refused', reason: `${policy} cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`};
	}

	if (!parsed.ok) {
		return {state: 'refused', reason: `${policy} is invalid: ${parsed.problems.join('; ')}`};
	}

	try {
		writeFileAtomic(active, text, 0o600);
	} catch (error) {
		return {state: 'refused', reason: `${active} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`};
	}

	return {state: 'accepted'};
}

/** At start: a policy.json that fails its check stops the agent. */
export function acceptPolicyAtStart(paths: AgentPaths): PolicyAcceptance {
	const accepted = acceptPolicy(paths);
	if (accepted.state === 'refused') {
		throw new XiError('CONFIG_INVALID', `Refusing to start: ${accepted.reason}. Fix it; the agent checks it again when it starts or reloads (SIGHUP).`);
	}

	return accepted;
}
