/**
 * A schema-valid runbook file → the Runbook model, with the checks that span parts of the file:
 * step names unique; `onFailure: run STEP` names a step that is not itself, not in a `parallel:`
 * group, and the jumps form no cycle; `failedIn`/`succeededIn` name a step that can have run
 * before (an earlier stage, or a handler); every `{param: NAME}` names a declared parameter, and
 * a secret one selects no hosts; every parameter's schema compiles and its default fits it.
 * Every problem is listed, not only the first. Pure.
 */
import {parseAmount} from '../run/rollout.js';
import {compileParameterSchema, describeValueError} from './parameter-schema.js';
import {hostsOfStep, isHostsOf, type ArgItem, type OnFailure, type Parameter, type Stage, type Step, type When} from './model.js';
import type {RunbookRead} from './read-runbook.js';

type RawParamRef = {param: string};
type RawSelectorItem = string | RawParamRef | {tags: Record<string, string | RawParamRef>};
type RawStep = {
	name: string;
	description?: string;
	script: string;
	on: RawSelectorItem | RawSelectorItem[] | {failedIn: string} | {succeededIn: string};
	args?: ArgItem[];
	batch?: number | string;
	maxFailures?: number | string;
	canary?: number;
	ignoreUnreachable?: boolean;
	timeout?: number;
	runTimeout?: number;
	idleTimeout?: number;
	onFailure?: string;
	when?: When;
};
type RawGroup = {parallel: RawStep[]; when?: When};
type RawStage = {kind: 'group'; group: RawGroup} | {kind: 'step'; step: RawStep};
export type RawRunbook = {
	description?: string;
	parameters?: Record<string, {description?: string; schema?: Record<string, unknown>; default?: unknown; secret?: boolean}>;
	steps: Array<RawStep | RawGroup>;
};

export function buildRunbook(name: string, raw: RawRunbook): RunbookRead {
	const problems: string[] = [];
	const parameters = buildParameters(raw.parameters ?? {}, problems);
	const rawStages: RawStage[] = raw.steps.map(item => ('parallel' in item ? {kind: 'group', group: item} : {kind: 'step', step: item}));
	const allRaw = rawStages.flatMap(stage => (stage.kind === 'group' ? stage.group.parallel : [stage.step]));

	const seen = new Set<string>();
	for (const step of allRaw) {
		if (seen.has(step.name)) {
			problems.push(`step ${step.name}: two steps have this name; each needs its own`);
		}

		seen.add(step.name);
	}

	const grouped = new Set(rawStages.flatMap(stage => (stage.kind === 'group' ? stage.group.parallel.map(step => step.name) : [])));
	const handlerNames = new Set<string>();
	for (const step of allRaw) {
		const onFailure = parseOnFailure(step.onFailure);
		if (onFailure.type !== 'run') {
			continue;
		}

		if (grouped.has(step.name)) {
			problems.push(`step ${step.name}: a step in a parallel group cannot jump (onFailure: run ${onFailure.step}); put the handler after the group as its own step with when: always, or jump from a step after the group`);
		} else if (onFailure.step === step.name) {
			problems.push(`step ${step.name}: onFailure: run ${step.name} would run the step that just failed again`);
		} else if (!seen.has(onFailure.step)) {
			problems.push(`step ${step.name}: onFailure: run ${onFailure.step} names no step of this runbook`);
		} else if (grouped.has(onFailure.step)) {
			problems.push(`step ${step.name}: onFailure: run ${onFailure.step} names a step inside a parallel group; a handler is a step of its own`);
		} else {
			handlerNames.add(onFailure.step);
		}
	}

	problems.push(...jumpCycles(allRaw));
	const parameterNames = new Map(parameters.map(parameter => [parameter.name, parameter]));
	const steps = new Map<string, Step>();
	for (const step of allRaw) {
		steps.set(step.name, buildStep(step, parameterNames, problems));
	}

	const stages: Stage[] = [];
	const handlers: Step[] = [];
	const before = new Set<string>();
	for (const stage of rawStages) {
		if (stage.kind === 'step' && handlerNames.has(stage.step.name)) {
			if (stage.step.when !== undefined) {
				problems.push(`step ${stage.step.name}: it runs only by onFailure: run, so when: ${stage.step.when} has no meaning; remove it`);
			}

			handlers.push(steps.get(stage.step.name)!);
			continue;
		}

		const members = stage.kind === 'group' ? stage.group.parallel : [stage.step];
		for (const member of members) {
			checkHostsOf(steps.get(member.name)!, before, handlerNames, problems);
		}

		for (const member of members) {
			before.add(member.name);
		}

		stages.push(stage.kind === 'group'
			? {kind: 'parallel', steps: members.map(member => steps.get(member.name)!), when: stage.group.when ?? 'previous.ok'}
			: {kind: 'step', step: steps.get(stage.step.name)!});
	}

	for (const handler of handlers) {
		checkHostsOf(handler, new Set([...seen].filter(other => other !== handler.name)), handlerNames, problems);
	}

	if (stages.length === 0) {
		problems.push('every step is a handler (the target of onFailure: run): nothing would run first');
	}

	if (problems.length > 0) {
		return {ok: false, problems};
	}

	return {ok: true, runbook: {name, ...(raw.description === undefined ? {} : {description: raw.description}), parameters, stages, handlers}};
}

function checkHostsOf(step: Step, before: ReadonlySet<string>, handlers: ReadonlySet<string>, problems: string[]): void {
	if (!isHostsOf(step.on)) {
		return;
	}

	const source = hostsOfStep(step.on);
	const key = source.outcome === 'failed' ? 'failedIn' : 'succeededIn';
	if (source.step === step.name) {
		problems.push(`step ${step.name}: on: {${key}: ${source.step}} names the step itself`);
	} else if (!before.has(source.step) && !handlers.has(source.step)) {
		problems.push(`step ${step.name}: on: {${key}: ${source.step}} must name a step that runs before it (an earlier step, or a handler)`);
	}
}

function buildParameters(raw: NonNullable<RawRunbook['parameters']>, problems: string[]): Parameter[] {
	return Object.entries(raw).map(([name, spec]) => {
		const schema = spec.schema ?? {type: 'string'};
		const compiled = compileParameterSchema(schema);
		if (!compiled.ok) {
			problems.push(`parameter ${name}: ${compiled.reason}`);
		} else if (spec.default !== undefined && !compiled.validate(spec.default)) {
			problems.push(`parameter ${name}: its default ${JSON.stringify(spec.default)} ${describeValueError(compiled.validate)}`);
		}

		if (spec.secret && spec.default !== undefined) {
			problems.push(`parameter ${name}: a secret has no default in the file (the file is not secret); give it with --param when running`);
		}

		return {
			name,
			...(spec.description === undefined ? {} : {description: spec.description}),
			schema,
			...(spec.default === undefined ? {} : {default: spec.default}),
			secret: spec.secret ?? false,
		};
	});
}

export function parseOnFailure(text: string | undefined): OnFailure {
	if (text === undefined || text === 'stop') {
		return {type: 'stop'};
	}

	return text === 'continue' ? {type: 'continue'} : {type: 'run', step: text.slice('run '.length)};
}

function buildStep(raw: RawStep, parameters: ReadonlyMap<string, Parameter>, problems: string[]): Step {
	const reference = (ref: RawParamRef, where: string, selects: boolean) => {
		const parameter = parameters.get(ref.param);
		if (!parameter) {
			problems.push(`step ${raw.name}: ${where} uses {param: ${ref.param}}, which is not among the parameters`);
		} else if (selects && parameter.secret) {
			problems.push(`step ${raw.name}: ${where} uses the secret parameter ${ref.param}; a secret cannot select hosts (selectors are recorded)`);
		}
	};

	let on: Step['on'];
	if (typeof raw.on === 'string') {
		on = [raw.on];
	} else if (Array.isArray(raw.on)) {
		on = raw.on;
	} else if ('param' in raw.on || 'tags' in raw.on) {
		on = [raw.on];
	} else {
		on = raw.on;
	}

	if (Array.isArray(on)) {
		for (const item of on) {
			if (typeof item === 'object' && 'param' in item) {
				reference(item, 'on', true);
			} else if (typeof item === 'object') {
				for (const [key, value] of Object.entries(item.tags)) {
					if (typeof value === 'object') {
						reference(value, `on: tags.${key}`, true);
					}
				}
			}
		}
	}

	const args = raw.args ?? [];
	for (const [index, item] of args.entries()) {
		if (typeof item === 'object') {
			reference(item, `args[${index}]`, false);
		}
	}

	const amount = (field: 'batch' | 'maxFailures') => {
		const value = raw[field];
		if (value === undefined) {
			return {};
		}

		const parsed = parseAmount(field, String(value));
		return typeof parsed === 'string' ? {} : {[field]: parsed};
	};

	return {
		name: raw.name,
		...(raw.description === undefined ? {} : {description: raw.description}),
		script: raw.script,
		on,
		args,
		rollout: {
			...amount('batch'),
			...amount('maxFailures'),
			...(raw.canary === undefined ? {} : {canary: raw.canary}),
			...(raw.ignoreUnreachable === undefined ? {} : {ignoreUnreachable: raw.ignoreUnreachable}),
			...(raw.runTimeout === undefined ? {} : {runTimeoutSeconds: raw.runTimeout}),
			...(raw.idleTimeout === undefined ? {} : {idleTimeoutSeconds: raw.idleTimeout}),
		},
		...(raw.timeout === undefined ? {} : {timeoutSeconds: raw.timeout}),
		onFailure: parseOnFailure(raw.onFailure),
		when: raw.when ?? 'previous.ok',
	};
}

/** Each cycle of `onFailure: run` jumps, once, as `a → b → a`. */
function jumpCycles(steps: readonly RawStep[]): string[] {
	const next = new Map<string, string>();
	for (const step of steps) {
		const onFailure = parseOnFailure(step.onFailure);
		if (onFailure.type === 'run' && onFailure.step !== step.name) {
			next.set(step.name, onFailure.step);
		}
	}

	const reported = new Set<string>();
	const cycles: string[] = [];
	for (const start of next.keys()) {
		const path: string[] = [];
		let current: string | undefined = start;
		while (current !== undefined && !path.includes(current)) {
			path.push(current);
			current = next.get(current);
		}

		if (current === undefined) {
			continue;
		}

		const cycle = path.slice(path.indexOf(current));
		// Reported once, from its first step in file order.
		const key = [...cycle].sort().join(' ');
		if (!reported.has(key)) {
			reported.add(key);
			cycles.push(`onFailure: run jumps form a cycle: ${[...cycle, current].join(' → ')}; a failure would never end`);
		}
	}

	return cycles;
}
