/**
 * The rollout options of a run request body, as the CLI's run-control flags give them to the
 * one run use case (resolvePlan): batch, maxFailures, ignoreUnreachable, canary, shuffle, run
 * and idle timeouts. The API cannot ask whether to go on after a canary, so a canary needs an explicit
 * canaryDecision. Pure.
 */
import {XiError} from '../errors.js';
import {parseAmount, type Amount} from '../run/rollout.js';
import type {RolloutInput} from '../run/plan.js';

export type RunControlBody = {
	batch?: number | string;
	maxFailures?: number | string;
	ignoreUnreachable?: boolean;
	canary?: number;
	canaryDecision?: 'continue' | 'stop';
	shuffle?: boolean;
	runTimeoutSeconds?: number;
	idleTimeoutSeconds?: number;
};

export type RunControl = {
	rollout: RolloutInput;
	/** With a canary: the decision given in the body, in place of the CLI's question. */
	approveCanary?: () => Promise<boolean>;
};

export function runControlFromBody(body: RunControlBody): RunControl {
	if (body.canary !== undefined && body.canaryDecision === undefined) {
		throw new XiError('USAGE', 'body field canaryDecision is required with canary: the API cannot ask whether to go on; send "continue" (go on when every canary host is ok) or "stop" (run the canary hosts only).');
	}

	if (body.canary === undefined && body.canaryDecision !== undefined) {
		throw new XiError('USAGE', 'body field canaryDecision goes with canary (how many hosts to run first).');
	}

	const batch = amount('batch', body.batch);
	const maxFailures = amount('maxFailures', body.maxFailures);
	const rollout: RolloutInput = {
		...(batch ? {batch} : {}),
		...(maxFailures ? {maxFailures} : {}),
		...(body.canary === undefined ? {} : {canary: body.canary}),
		...(body.ignoreUnreachable ? {ignoreUnreachable: true} : {}),
		...(body.shuffle ? {shuffle: true} : {}),
		...(body.runTimeoutSeconds === undefined ? {} : {runTimeoutMs: body.runTimeoutSeconds * 1000}),
		...(body.idleTimeoutSeconds === undefined ? {} : {idleTimeoutMs: body.idleTimeoutSeconds * 1000}),
	};
	const decision = body.canaryDecision === 'continue';
	return {rollout, ...(body.canary === undefined ? {} : {approveCanary: async () => decision})};
}

function amount(field: string, value: number | string | undefined): Amount | undefined {
	if (value === undefined) {
		return undefined;
	}

	const parsed = parseAmount(field, String(value));
	if (typeof parsed === 'string') {
		throw new XiError('USAGE', `body field ${field}: ${parsed.replace(`--${field} `, '')}.`);
	}

	return parsed;
}
