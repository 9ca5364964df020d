/**
 * A runbook checked whole against the fleet before its first step: parameters against their
 * schemas, each step's selector against the registry (unknown hosts, nothing matched), its script
 * against what the targets advertise (discovery), its arguments against each target's argument
 * schema, a secret parameter only in argument positions the schema marks secret (otherwise its
 * value would be recorded), and every step inside the token's scope. Every problem is listed;
 * nothing is dialled for a run until the list is empty. A step that takes its hosts from an earlier
 * one (`failedIn`) is checked against all the hosts it could get. Pure: the registry and the
 * discovery answers come in.
 */
import type {Discovered} from '../dispatch/discover.js';
import {buildCatalog, variantFor} from '../core/script-catalog.js';
import {parseSelector, resolveSelection} from '../policy/selector.js';
import {checkScope, type TokenScope} from '../policy/tokens.js';
import {describeSchemaError} from '../protocol/args-schema.js';
import {checkArgs} from '../protocol/args.js';
import {isSecretPosition, secretArgsOf} from '../protocol/secret-args.js';
import type {AgentRecord} from '../registry/model.js';
import {allSteps, hostsOfStep, isHostsOf, type Runbook, type SelectorItem, type Step} from './model.js';
import {resolveParameters, type ParameterValues} from './parameters.js';
import {stepArgs, stepSelector} from './substitute.js';

export type PlannedStep = {
	name: string;
	script: string;
	args: string[];
	/** Positions holding a secret parameter's value. */
	secretPositions: number[];
	/** The selector, or the earlier step whose hosts it takes. */
	on: {selector: string[]} | {step: string; outcome: 'failed' | 'ok'};
	/** The hosts it would run on (for `from`: every host it could get), by name. */
	targets: string[];
};

export type RunbookPlan = {
	values: ParameterValues;
	steps: Map<string, PlannedStep>;
	/** What the operator should hear that does not stop the runbook (an agent not answering discovery). */
	notes: string[];
};

/** `outOfScope`: some problem is a step reaching outside the token's scope (the refusal is then OUT_OF_SCOPE). */
export type PlanCheck = {ok: true; plan: RunbookPlan} | {ok: false; problems: string[]; outOfScope?: true};

/** The agents the runbook could reach, for the discovery the plan needs; problems are left to planRunbook. */
export function reachableAgents(runbook: Runbook, values: ParameterValues, agents: readonly AgentRecord[]): AgentRecord[] {
	const names = new Set<string>();
	for (const step of allSteps(runbook)) {
		if (!isHostsOf(step.on)) {
			const selected = select({name: step.name, on: step.on}, values, agents);
			for (const agent of selected.agents) {
				names.add(agent.name);
			}
		}
	}

	return agents.filter(agent => names.has(agent.name));
}

export function planRunbook(runbook: Runbook, given: Readonly<Record<string, unknown>>, fleet: {agents: readonly AgentRecord[]; discovered: readonly Discovered[]; scope?: TokenScope}): PlanCheck {
	const parameters = resolveParameters(runbook, given);
	if (!parameters.ok) {
		return {ok: false, problems: parameters.problems};
	}

	const {values} = parameters;
	const problems: string[] = [];
	let outOfScope = false;
	const notes = new Set<string>();
	const secret = new Set(runbook.parameters.filter(parameter => parameter.secret).map(parameter => parameter.name));
	const discovered = new Map(fleet.discovered.map(found => [found.name, found]));
	const steps = new Map<string, PlannedStep>();
	const byName = new Map(allSteps(runbook).map(step => [step.name, step]));

	const targetsOf = (step: Step, seen: Set<string>): {targets: AgentRecord[]; selector?: string[]} => {
		if (isHostsOf(step.on)) {
			const source = byName.get(hostsOfStep(step.on).step);
			return source && !seen.has(source.name) ? {targets: targetsOf(source, new Set([...seen, step.name])).targets} : {targets: []};
		}

		const selected = select({name: step.name, on: step.on}, values, fleet.agents);
		return {targets: selected.agents, ...(selected.selector ? {selector: selected.selector} : {})};
	};

	for (const step of allSteps(runbook)) {
		const before = problems.length;
		const args = stepArgs(step, values, secret);
		if (!args.ok) {
			problems.push(args.problem);
		} else {
			const limit = checkArgs(args.value.args);
			if (limit) {
				problems.push(`step ${step.name}: ${limit}`);
			}
		}

		let targets: AgentRecord[];
		let selector: string[] | undefined;
		if (isHostsOf(step.on)) {
			({targets} = targetsOf(step, new Set()));
		} else {
			const selected = select({name: step.name, on: step.on}, values, fleet.agents);
			problems.push(...selected.problems);
			targets = selected.agents;
			selector = selected.selector;
		}

		if (fleet.scope && targets.length > 0) {
			const outside = checkScope(fleet.scope, step.script, targets);
			if (outside) {
				outOfScope = true;
				problems.push(`step ${step.name}: ${outside}`);
			}
		}

		checkScript(step, targets, args.ok ? args.value : undefined, discovered, problems, notes);
		if (problems.length === before && args.ok) {
			steps.set(step.name, {
				name: step.name,
				script: step.script,
				args: args.value.args,
				secretPositions: args.value.secretPositions,
				on: isHostsOf(step.on) ? hostsOfStep(step.on) : {selector: selector!},
				targets: targets.map(agent => agent.name),
			});
		}
	}

	return problems.length > 0 ? {ok: false, problems, ...(outOfScope ? {outOfScope: true as const} : {})} : {ok: true, plan: {values, steps, notes: [...notes]}};
}

type Selected = {agents: AgentRecord[]; selector?: string[]; problems: string[]};

function select(step: {name: string; on: readonly SelectorItem[]}, values: ParameterValues, agents: readonly AgentRecord[]): Selected {
	const substituted = stepSelector(step, values);
	if (!substituted.ok) {
		return {agents: [], problems: [substituted.problem]};
	}

	const parsed = parseSelector(substituted.value);
	if (!parsed.ok) {
		return {agents: [], problems: [`step ${step.name}: on: ${parsed.reason}`]};
	}

	const selection = resolveSelection(parsed.selector, agents);
	const problems: string[] = [];
	if (selection.unknownNames.length > 0) {
		problems.push(`step ${step.name}: unknown ${selection.unknownNames.length === 1 ? 'host' : 'hosts'} ${selection.unknownNames.join(', ')} (not in the registry; \`xi-exec agents\` lists them)`);
	}

	if (selection.emptyExclusions.length > 0) {
		problems.push(`step ${step.name}: ${selection.emptyExclusions.join(', ')} matches no registered agent, so it would remove nothing`);
	}

	if (selection.agents.length === 0 && selection.unknownNames.length === 0) {
		problems.push(`step ${step.name}: on ${substituted.value.join(' ')} matches no registered agent`);
	}

	return {agents: [...selection.agents].sort((a, b) => a.name.localeCompare(b.name)), selector: substituted.value, problems};
}

function checkScript(step: Step, targets: readonly AgentRecord[], args: {args: string[]; secretPositions: number[]} | undefined, discovered: ReadonlyMap<string, Discovered>, problems: string[], notes: Set<string>): void {
	const found = targets.map(target => discovered.get(target.name)).filter((one): one is Discovered => one !== undefined);
	for (const target of targets) {
		const answer = discovered.get(target.name);
		if (!answer || answer.status !== 'reachable') {
			notes.add(`${target.name} did not answer discovery${answer?.reason ? ` (${answer.reason})` : ''}: a step on it will find it unreachable`);
		}
	}

	const reachable = found.filter(one => one.status === 'reachable');
	const catalog = buildCatalog(reachable, name => name === step.script);
	const entry = catalog.scripts[0];
	const without = reachable.filter(one => !entry || !variantFor(entry, one.name)).map(one => one.name);
	if (without.length > 0) {
		const bad = catalog.problems.filter(problem => without.includes(problem.agent));
		problems.push(bad.length > 0
			? `step ${step.name}: ${bad.map(problem => `${problem.agent} advertises ${step.script} with a schema the controller refuses (${problem.reason})`).join('; ')}`
			: `step ${step.name}: unknown script ${step.script} on ${without.join(', ')} (not on ${without.length === 1 ? 'its allowlist' : 'their allowlists'})`);
	}

	if (!entry || !args) {
		return;
	}

	const refusals = new Map<string, string[]>();
	const unmarked = new Map<string, string[]>();
	for (const variant of entry.variants) {
		if (variant.validate && !variant.validate(args.args)) {
			const why = describeSchemaError(variant.validate);
			refusals.set(why, [...(refusals.get(why) ?? []), ...variant.agents]);
		}

		const marked = secretArgsOf(variant.schema);
		for (const position of args.secretPositions) {
			if (!isSecretPosition(marked, position)) {
				const key = `argument #${position + 1}`;
				unmarked.set(key, [...(unmarked.get(key) ?? []), ...variant.agents]);
			}
		}
	}

	for (const [why, agents] of refusals) {
		problems.push(`step ${step.name}: the arguments are refused by the schema ${agents.join(', ')} ${agents.length === 1 ? 'advertises' : 'advertise'} for ${step.script}: ${why}`);
	}

	for (const [position, agents] of unmarked) {
		problems.push(`step ${step.name}: ${position} carries a secret parameter, but the schema ${agents.join(', ')} ${agents.length === 1 ? 'advertises' : 'advertise'} for ${step.script} does not mark it secret, so its value would be recorded`);
	}
}
