/**
 * A runbook as the controller reads it: typed parameters, then stages in order, each a single step
 * or a `parallel:` group of steps. A step is one run (a script on a selection of agents) plus what
 * happens after it. Handler steps (the targets of `onFailure: run STEP`) are not part of the
 * sequence: they run only when a failure jumps to them. Types only.
 */
import type {Amount} from '../run/rollout.js';

/** A whole value taken from a parameter: never spliced into a string. */
export type ParamRef = {param: string};

/** One argument: a literal, or a parameter's whole value (an array parameter gives several arguments). */
export type ArgItem = string | number | boolean | ParamRef;

/** One `--on` value: a literal selector, a parameter whose value is one (or a list), or tags whose values may be parameters. */
export type SelectorItem = string | ParamRef | {tags: Record<string, string | ParamRef>};

/** The hosts an earlier step ended on: failed (failed, timeout, denied, error, unreachable) or ok. */
export type HostsOf = {failedIn: string} | {succeededIn: string};

export type OnFailure = {type: 'stop'} | {type: 'continue'} | {type: 'run'; step: string};

/**
 * `previous.ok` (the default): the step runs while nothing before it stopped the runbook (a
 * failure with `onFailure: continue` does not). `always`: it runs even then (cleanup), though not
 * after a cancel.
 */
export type When = 'previous.ok' | 'always';

export type StepRollout = {
	batch?: Amount;
	maxFailures?: Amount;
	canary?: number;
	ignoreUnreachable?: boolean;
	runTimeoutSeconds?: number;
	idleTimeoutSeconds?: number;
};

export type Step = {
	name: string;
	description?: string;
	script: string;
	on: SelectorItem[] | HostsOf;
	args: ArgItem[];
	rollout: StepRollout;
	/** To connect to and hear back from each agent (a run's --timeout). */
	timeoutSeconds?: number;
	onFailure: OnFailure;
	when: When;
};

export type Stage =
	| {kind: 'step'; step: Step}
	| {kind: 'parallel'; steps: Step[]; when: When};

export type Parameter = {
	name: string;
	description?: string;
	/** JSON Schema 2020-12 of the value (`{type: string}` when the file gives none). */
	schema: Record<string, unknown>;
	default?: unknown;
	/** The value is kept out of every record (shown as its hash) and may reach only secret argument positions. */
	secret: boolean;
};

export type Runbook = {
	name: string;
	description?: string;
	parameters: Parameter[];
	stages: Stage[];
	/** Steps reached only by `onFailure: run STEP`, by name. */
	handlers: Step[];
};

/** Every step, in the file's order (sequence first, handlers after). */
export function allSteps(runbook: Runbook): Step[] {
	return [...runbook.stages.flatMap(stage => (stage.kind === 'step' ? [stage.step] : stage.steps)), ...runbook.handlers];
}

export function stageSteps(stage: Stage): Step[] {
	return stage.kind === 'step' ? [stage.step] : stage.steps;
}

export function isHostsOf(on: Step['on']): on is HostsOf {
	return !Array.isArray(on);
}

export function hostsOfStep(on: HostsOf): {step: string; outcome: 'failed' | 'ok'} {
	return 'failedIn' in on ? {step: on.failedIn, outcome: 'failed'} : {step: on.succeededIn, outcome: 'ok'};
}
