/**
 * The building blocks of the REST API's JSON Schemas (2020-12): string, nullable and closed-object
 * helpers, and the values every resource shares (names, request ids, tags, selectors, arguments,
 * the error body). Pure.
 */
import {errorCodes} from '../errors.js';
import {limits, requestIdPattern} from '../protocol/frames.js';
import {agentNamePattern, scriptNamePattern} from '../protocol/text-checks.js';
import {selectorLimits} from '../policy/selector.js';

export type JsonSchema = Record<string, unknown>;
export const text = (maxLength: number, extra: JsonSchema = {}): JsonSchema => ({type: 'string', maxLength, ...extra});
export const nullable = (schema: JsonSchema): JsonSchema => ({...schema, type: [schema['type'], 'null']});
export const object = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties), extra: JsonSchema = {}): JsonSchema => ({
	type: 'object',
	additionalProperties: false,
	required,
	properties,
	...extra,
});

export const scriptName = text(64, {pattern: scriptNamePattern.source, description: 'A script name: [a-z0-9][a-z0-9._-]*.'});
export const agentName = text(63, {pattern: agentNamePattern.source});
export const requestId = text(64, {pattern: requestIdPattern.source, description: 'The run\'s request id (a UUID for runs this controller starts).'});
export const timestamp = text(40, {format: 'date-time'});

export const tagsSchema: JsonSchema = {type: 'object', maxProperties: 64, additionalProperties: text(128), description: 'Tags, key=value, as the controller\'s registry holds them.'};

/**
 * A selector, in the grammar of the CLI's --on (README, "Targeting"): a list of clauses, or one
 * string of clauses separated by white space. Handlers read it through `selectorValues`.
 */
export const selectorSchema: JsonSchema = {
	type: ['array', 'string'],
	minItems: 1,
	maxItems: selectorLimits.values,
	items: text(selectorLimits.valueChars, {minLength: 1}),
	minLength: 1,
	maxLength: selectorLimits.values * 64,
	description: `Target selection, the CLI's --on: a list of clauses, or one string of clauses separated by white space (\`web[01-40] !web07\`). Each clause is \`all\`, agent names and ranges (\`web[01-40,45],db1\`, \`*\` globs), or tag terms that must all hold (\`env=prod*,role=web\`); several clauses are OR, and a clause starting with \`!\` removes what it matches. At most ${selectorLimits.values} clauses of ${selectorLimits.valueChars} characters, naming at most ${selectorLimits.names} agents.`,
};

/** Arguments when no argument schema is advertised: the wire protocol's own limits. */
export const genericArgsSchema: JsonSchema = {
	type: 'array',
	maxItems: limits.argCount,
	items: text(limits.argBytes),
	description: 'The script\'s arguments, passed as argv (never through a shell).',
};

export const errorSchema: JsonSchema = object({
	error: object({
		code: {enum: Object.keys(errorCodes), description: 'A code from the error registry (README, "Errors").'},
		message: text(8192),
	}),
}, ['error'], {description: 'Every error has this shape.'});

/** In a query string, each `on` parameter is one clause (repeat it): `?on=web[1-4]&on=!web2`. */
export const selectorQuerySchema: JsonSchema = {type: 'array', minItems: 1, maxItems: selectorLimits.values, items: text(selectorLimits.valueChars, {minLength: 1}), description: `${String(selectorSchema['description'])} In a query, each on parameter is one clause: repeat it.`};
