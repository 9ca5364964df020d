/**
 * Parameters into a step, as whole values only: `{param: NAME}` in `args` becomes one argument (a
 * string, number or boolean, as text) or one argument per item of a list; in `on` it becomes one
 * selector value or one per item; as a tag value it must be a literal tag value (no glob, comma or
 * `=`, so it cannot widen the selection). Nothing is ever spliced into a longer string. Pure.
 */
import {tagValuePattern} from '../policy/tags.js';
import type {ArgItem, ParamRef, SelectorItem, Step} from './model.js';
import type {ParameterValues} from './parameters.js';

export type StepArgs = {args: string[]; secretPositions: number[]};

type Result<T> = {ok: true; value: T} | {ok: false; problem: string};

export function stepArgs(step: Step, values: ParameterValues, secret: ReadonlySet<string>): Result<StepArgs> {
	const args: string[] = [];
	const secretPositions: number[] = [];
	for (const [index, item] of step.args.entries()) {
		const expanded = argValues(item, values);
		if (typeof expanded === 'string') {
			return {ok: false, problem: `step ${step.name}: args[${index}] ${expanded}`};
		}

		for (const value of expanded) {
			if (typeof item === 'object' && secret.has(item.param)) {
				secretPositions.push(args.length);
			}

			args.push(value);
		}
	}

	return {ok: true, value: {args, secretPositions}};
}

function argValues(item: ArgItem, values: ParameterValues): string[] | string {
	if (typeof item !== 'object') {
		return [String(item)];
	}

	const value = valueOf(item, values);
	const items = Array.isArray(value) ? value : [value];
	if (!items.every(one => typeof one === 'string' || typeof one === 'number' || typeof one === 'boolean')) {
		return `takes {param: ${item.param}}, whose value ${JSON.stringify(value)} is not a string, number, boolean or a list of them`;
	}

	return items.map(String);
}

export function stepSelector(step: {name: string; on: readonly SelectorItem[]}, values: ParameterValues): Result<string[]> {
	const selector: string[] = [];
	for (const item of step.on) {
		if (typeof item === 'string') {
			selector.push(item);
			continue;
		}

		if ('param' in item) {
			const value = valueOf(item, values);
			const items = Array.isArray(value) ? value : [value];
			if (items.length === 0 || !items.every(one => typeof one === 'string' && one.length > 0)) {
				return {ok: false, problem: `step ${step.name}: on takes {param: ${item.param}}, whose value ${JSON.stringify(value)} is not a selector (a non-empty string) or a list of them`};
			}

			selector.push(...(items as string[]));
			continue;
		}

		const terms: string[] = [];
		for (const [key, term] of Object.entries(item.tags)) {
			if (typeof term === 'string') {
				terms.push(`${key}=${term}`);
				continue;
			}

			const value = valueOf(term, values);
			if (typeof value !== 'string' || !tagValuePattern.test(value)) {
				return {ok: false, problem: `step ${step.name}: on: tags.${key} takes {param: ${term.param}}, whose value ${JSON.stringify(value)} is not a tag value (${tagValuePattern.source}: no glob, comma or =)`};
			}

			terms.push(`${key}=${value}`);
		}

		selector.push(terms.join(','));
	}

	return {ok: true, value: selector};
}

function valueOf(ref: ParamRef, values: ParameterValues): unknown {
	return Object.hasOwn(values, ref.param) ? values[ref.param] : undefined;
}
