/**
 * The run controls the console sets before a run, as the CLI's flags do: `--batch`,
 * `--max-failures`, `--canary` and the per-host `--timeout`. Typed as the flags are (the same
 * parser, the same words), handed to the core as the run's rollout (core/run-plan.ts makes the
 * plan, the dispatcher rolls it out: nothing of the rollout is decided here), and described for
 * the confirmation, the running screen and a dry run's "starts" column. Pure.
 */
import {parseAmount, planRollout, type Amount} from '../../../run/rollout.js';
import type {RolloutInput} from '../../../run/plan.js';

/** What the console's runs use unless a control says otherwise (console-core.ts): the CLI's defaults. */
export const consoleRunDefaults = {parallel: 64, timeoutSeconds: 30};

export type RunControls = {batch?: Amount; maxFailures?: Amount; canary?: number; timeoutSeconds?: number};

export type ControlField = keyof RunControls;

/** Each field: its key on the confirmation, its flag, and what it takes. */
export const controlFields: Record<ControlField, {key: string; flag: string; takes: string}> = {
	batch: {key: 'b', flag: 'batch', takes: 'N or N% at once'},
	maxFailures: {key: 'm', flag: 'max-failures', takes: 'N or N% failures, then no new host'},
	canary: {key: 'c', flag: 'canary', takes: 'N hosts first, then you are asked'},
	timeoutSeconds: {key: 't', flag: 'timeout', takes: 'seconds a host may run'},
};

export function fieldOfKey(input: string): ControlField | undefined {
	return (Object.keys(controlFields) as ControlField[]).find(field => controlFields[field].key === input);
}

/** The field as typed into it: empty clears it; a bad value is named as the CLI names it. */
export function setControl(controls: RunControls, field: ControlField, text: string): {ok: true; controls: RunControls} | {ok: false; reason: string} {
	const trimmed = text.trim();
	const {[field]: _dropped, ...rest} = controls;
	if (trimmed === '') {
		return {ok: true, controls: rest};
	}

	if (field === 'batch' || field === 'maxFailures') {
		const amount = parseAmount(controlFields[field].flag, trimmed);
		if (typeof amount === 'string') {
			return {ok: false, reason: amount};
		}

		if (field === 'batch' && amount.value === 0) {
			return {ok: false, reason: '--batch must be at least 1 host; got "0"'};
		}

		return {ok: true, controls: {...rest, [field]: amount}};
	}

	if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1) {
		return {ok: false, reason: field === 'canary'
			? `--canary must be a whole number of hosts, at least 1; got ${JSON.stringify(trimmed)}`
			: `--timeout must be whole seconds, at least 1; got ${JSON.stringify(trimmed)}`};
	}

	return {ok: true, controls: {...rest, [field]: Number(trimmed)}};
}

/** The field as the operator typed it, to edit it again. */
export function controlText(controls: RunControls, field: ControlField): string {
	const value = controls[field];
	if (value === undefined) {
		return '';
	}

	return typeof value === 'number' ? String(value) : `${value.value}${value.percent ? '%' : ''}`;
}

/** The rollout the core is asked for. */
export function rolloutOf(controls: RunControls): RolloutInput {
	return {
		...(controls.batch ? {batch: controls.batch} : {}),
		...(controls.maxFailures ? {maxFailures: controls.maxFailures} : {}),
		...(controls.canary === undefined ? {} : {canary: controls.canary}),
	};
}

function amountText(amount: Amount): string {
	return `${amount.value}${amount.percent ? '%' : ''}`;
}

/** One line: `batch 2 · max failures 1 · canary 1 · timeout 60 s`, or '' when none is set. */
export function describeControls(controls: RunControls): string {
	return [
		controls.batch ? `batch ${amountText(controls.batch)}` : '',
		controls.maxFailures ? `max failures ${amountText(controls.maxFailures)}` : '',
		controls.canary === undefined ? '' : `canary ${controls.canary}`,
		controls.timeoutSeconds === undefined ? '' : `timeout ${controls.timeoutSeconds} s`,
	].filter(Boolean).join(' · ');
}

/**
 * The rollout in words, resolved for these many targets as the dispatcher resolves it
 * (run/rollout.ts's planRollout): how many at once, the canary, the failure threshold.
 */
export function describeRollout(controls: RunControls, targets: number, parallel: number): string {
	const rollout = planRollout({...rolloutOf(controls), parallel}, targets);
	const parts = [
		rollout.canary > 0 ? `${rollout.canary} first (canary), then you are asked` : '',
		rollout.window >= targets ? 'all at once' : `${rollout.window} at a time`,
		rollout.maxFailures === undefined ? '' : `no new host after more than ${rollout.maxFailures} ${rollout.maxFailures === 1 ? 'failure' : 'failures'}`,
	];
	return parts.filter(Boolean).join('; ');
}

/**
 * When the host at `index` (0-based, in the plan's order: the order hosts start in) starts: with
 * the canary, in the first window, or as an earlier host finishes.
 */
export function startsAt(index: number, controls: RunControls, targets: number, parallel: number): string {
	const rollout = planRollout({...rolloutOf(controls), parallel}, targets);
	if (index < rollout.canary) {
		return index < rollout.window ? 'canary' : 'canary, as one ends';
	}

	const after = index - rollout.canary;
	if (rollout.canary > 0) {
		return after < rollout.window ? 'after the canary' : 'as one ends';
	}

	return after < rollout.window ? 'at once' : 'as one ends';
}
