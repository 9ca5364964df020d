/**
 * An argument schema as an agent advertises it is untrusted input to the controller: it is
 * compiled (size limit, local `$ref`s only, strict JSON Schema 2020-12) by the same function the
 * agent uses, every regular expression in it must pass the backtracking guard, and it may not
 * change base URIs (`$id`, anchors, dynamic references), so it can be placed inside the OpenAPI
 * document with its `$ref`s rewritten. Compiled schemas are kept by their canonical text, so
 * repeated discovery does not compile again. Pure apart from that cache.
 */
import type {ValidateFunction} from 'ajv/dist/2020.js';
import {canonical} from '../audit/record.js';
import {compileGuardedPattern} from '../policy/safe-pattern.js';
import {compileArgsSchema} from '../protocol/args-schema.js';

export type AdvertisedSchema = {ok: true; schema: Record<string, unknown>; validate: ValidateFunction; key: string} | {ok: false; reason: string};

const forbiddenKeywords = ['$id', '$anchor', '$dynamicAnchor', '$dynamicRef', '$recursiveRef', '$recursiveAnchor'];
const cache = new Map<string, AdvertisedSchema>();
const cacheLimit = 512;

export function compileAdvertisedSchema(schema: unknown): AdvertisedSchema {
	if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
		return {ok: false, reason: 'the argument schema is not a JSON object'};
	}

	let key: string;
	try {
		key = canonical(schema);
	} catch {
		return {ok: false, reason: 'the argument schema cannot be serialised'};
	}

	const known = cache.get(key);
	if (known) {
		return known;
	}

	const result = compileUncached(schema as Record<string, unknown>, key);
	if (cache.size >= cacheLimit) {
		cache.clear();
	}

	cache.set(key, result);
	return result;
}

function compileUncached(schema: Record<string, unknown>, key: string): AdvertisedSchema {
	// Size and remote references first: nothing large or foreign is walked or compiled.
	const compiled = compileArgsSchema(schema);
	if (!compiled.ok) {
		return compiled;
	}

	const problem = findProblem(schema, 0);
	return problem ? {ok: false, reason: `the argument schema ${problem}`} : {ok: true, schema, validate: compiled.validate, key};
}

function findProblem(value: unknown, depth: number): string | undefined {
	if (depth > 64) {
		return 'is nested too deeply';
	}

	if (Array.isArray(value)) {
		for (const item of value) {
			const problem = findProblem(item, depth + 1);
			if (problem) {
				return problem;
			}
		}

		return undefined;
	}

	if (typeof value !== 'object' || value === null) {
		return undefined;
	}

	for (const [name, child] of Object.entries(value)) {
		if (forbiddenKeywords.includes(name)) {
			return `uses ${name}, which the controller does not accept from agents`;
		}

		// Conservative: a "pattern" anywhere (even inside data such as `const`) must pass the guard.
		if (name === 'pattern' && typeof child === 'string') {
			const guarded = compileGuardedPattern(child);
			if (!guarded.ok) {
				return `has an unsafe pattern ${JSON.stringify(child.slice(0, 80))}: ${guarded.reason}`;
			}
		}

		if (name === 'patternProperties' && typeof child === 'object' && child !== null) {
			for (const pattern of Object.keys(child)) {
				const guarded = compileGuardedPattern(pattern);
				if (!guarded.ok) {
					return `has an unsafe patternProperties key ${JSON.stringify(pattern.slice(0, 80))}: ${guarded.reason}`;
				}
			}
		}

		const problem = findProblem(child, depth + 1);
		if (problem) {
			return problem;
		}
	}

	return undefined;
}

/**
 * A copy of a schema for a place inside a larger document (`#/components/schemas/NAME`): its
 * local `$ref`s (`#/$defs/x`) are rewritten to point inside that place, and `$schema` is dropped
 * (the document's dialect is 2020-12, the only one the agents accept).
 */
export function relocateSchema(schema: Record<string, unknown>, pointer: string): Record<string, unknown> {
	const move = (value: unknown): unknown => {
		if (Array.isArray(value)) {
			return value.map(move);
		}

		if (typeof value !== 'object' || value === null) {
			return value;
		}

		const copy: Record<string, unknown> = {};
		for (const [name, child] of Object.entries(value)) {
			copy[name] = name === '$ref' && typeof child === 'string' && child.startsWith('#') ? pointer + child.slice(1) : move(child);
		}

		return copy;
	};

	const {$schema: _dialect, ...rest} = schema;
	return move(rest) as Record<string, unknown>;
}
