/**
 * The blast radius an allowlist entry declares (`maxTargets`, `confirm: true`), checked by the
 * controller before a run dials anything, with the limits learnt from the targets' discovery.
 * Pure: the targets' count, the rollout and the limits in, a decision out.
 *
 * - `maxTargets`: the smallest declared by any target is the limit; a run on more targets is
 *   refused unless `--batch` keeps it within the limit (at most that many hosts at once).
 * - `confirm`: the run goes ahead with `--yes`; with a terminal the operator is asked to type the
 *   number of targets; otherwise it is refused. A dry run needs no confirmation. An AI caller
 *   (MCP) is refused whatever it asks: nobody confirms for it; approvals/gated-run.ts lets an
 *   operator approve it instead when the approvals policy has a rule for AI callers.
 */
import {foldNames} from './group-output.js';
import {planRollout, type Amount} from './rollout.js';

/** What one target's allowlist entry for the script declares (from its `description` frame). */
export type DeclaredLimit = {agent: string; maxTargets?: number; confirm?: boolean};

export type BlastRadiusInput = {
	script: string;
	targets: number;
	limits: readonly DeclaredLimit[];
	batch?: Amount;
	parallel: number;
	yes: boolean;
	/** A terminal to ask on. */
	interactive: boolean;
	/** An AI agent asks (MCP): its own "yes" confirms nothing. */
	aiCaller?: boolean;
	dryRun: boolean;
};

export type BlastRadiusDecision =
	| {type: 'go'}
	| {type: 'ask'; question: string; answer: string}
	| {type: 'refuse'; reason: string};

export function checkBlastRadius(input: BlastRadiusInput): BlastRadiusDecision {
	const limited = input.limits.filter(limit => limit.maxTargets !== undefined);
	if (limited.length > 0) {
		const maxTargets = Math.min(...limited.map(limit => limit.maxTargets!));
		const window = input.batch ? planRollout({batch: input.batch, parallel: input.parallel}, input.targets).window : input.targets;
		if (input.targets > maxTargets && window > maxTargets) {
			const where = setOn(limited.filter(limit => limit.maxTargets === maxTargets).map(limit => limit.agent));
			const batched = input.batch ? `; --batch runs ${window} at once` : '';
			return {
				type: 'refuse',
				reason: `${input.script} allows at most ${maxTargets} ${maxTargets === 1 ? 'target' : 'targets'} at once (maxTargets in its allowlist entry on ${where}) and this run has ${input.targets}${batched}: narrow --on, or roll out with --batch ${maxTargets} or less`,
			};
		}
	}

	const confirming = input.limits.filter(limit => limit.confirm === true).map(limit => limit.agent);
	if (confirming.length === 0 || input.dryRun) {
		return {type: 'go'};
	}

	const where = setOn(confirming);
	if (input.aiCaller) {
		return {type: 'refuse', reason: `${input.script} asks for confirmation (confirm: true in its allowlist entry on ${where}), and an AI caller cannot confirm its own run: a person must run it (xi-exec run --yes), or an operator approve it (the controller's approvals policy needs a rule with callers ["ai"] for it)`};
	}

	if (input.yes) {
		return {type: 'go'};
	}

	if (!input.interactive) {
		return {type: 'refuse', reason: `${input.script} asks for confirmation (confirm: true in its allowlist entry on ${where}): pass --yes ("yes": true over the REST API) to run it on ${input.targets} ${input.targets === 1 ? 'target' : 'targets'}`};
	}

	return {
		type: 'ask',
		question: `${input.script} asks for confirmation (confirm: true on ${where}). Type ${input.targets} (the number of targets) to run it: `,
		answer: String(input.targets),
	};
}

/** `agent web1`, `agents web[1-3]`: where a limit is set, folded. */
function setOn(agents: readonly string[]): string {
	return `${agents.length === 1 ? 'agent' : 'agents'} ${foldNames(agents)}`;
}

/** What the targets' discovery says about one script: each target's declared limits, if any. */
export function declaredLimits(found: ReadonlyArray<{name: string; scripts: ReadonlyArray<{name: string; maxTargets?: number; confirm?: boolean}>}>, script: string): DeclaredLimit[] {
	return found.flatMap(agent => agent.scripts
		.filter(entry => entry.name === script && (entry.maxTargets !== undefined || entry.confirm === true))
		.map(entry => ({agent: agent.name, ...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}), ...(entry.confirm === true ? {confirm: true} : {})})));
}
