/**
 * A runbook run's parameter values: the ones given (the CLI's `--param NAME=VALUE` texts, the
 * API's JSON values), the file's defaults for the rest, each checked against its parameter's
 * JSON Schema; every problem listed at once. A secret's value is recorded only as its hash. Pure.
 */
import {hashSecret} from '../protocol/secret-args.js';
import type {Parameter, Runbook} from './model.js';
import {compileParameterSchema, describeValueError} from './parameter-schema.js';

export type ParameterValues = Readonly<Record<string, unknown>>;

export type ParameterCheck = {ok: true; values: ParameterValues} | {ok: false; problems: string[]};

export function resolveParameters(runbook: Runbook, given: Readonly<Record<string, unknown>>): ParameterCheck {
	const problems: string[] = [];
	const declared = new Map(runbook.parameters.map(parameter => [parameter.name, parameter]));
	for (const name of Object.keys(given)) {
		if (!declared.has(name)) {
			problems.push(`parameter ${name} is not declared by runbook ${runbook.name}${declared.size === 0 ? ' (it takes none)' : ` (it takes ${[...declared.keys()].join(', ')})`}`);
		}
	}

	const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
	for (const parameter of runbook.parameters) {
		const value = Object.hasOwn(given, parameter.name) ? given[parameter.name] : parameter.default;
		if (value === undefined) {
			problems.push(`parameter ${parameter.name} has no default: give it with --param ${parameter.name}=VALUE${parameter.description ? ` (${parameter.description})` : ''}`);
			continue;
		}

		const compiled = compileParameterSchema(parameter.schema);
		if (!compiled.ok) {
			problems.push(`parameter ${parameter.name}: ${compiled.reason}`);
		} else if (!compiled.validate(value)) {
			problems.push(`parameter ${parameter.name}: ${parameter.secret ? 'the value given' : JSON.stringify(value)} ${describeValueError(compiled.validate)}`);
		}

		values[parameter.name] = value;
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, values};
}

/**
 * A value typed on the command line: taken as the text itself when the parameter's schema
 * accepts a string (or says nothing of its type), otherwise read as JSON (`3`, `true`, `["a"]`).
 */
export function valueFromText(parameter: Parameter | undefined, text: string): unknown {
	const type = parameter?.schema['type'];
	const types = Array.isArray(type) ? type : [type];
	if (type === undefined || types.includes('string')) {
		return text;
	}

	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}

/** `NAME=VALUE` words (the CLI's repeated --param) → values, or every malformed word named. */
export function parseParameterWords(runbook: Runbook, words: readonly string[]): {ok: true; given: Record<string, unknown>} | {ok: false; problems: string[]} {
	const given: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
	const problems: string[] = [];
	for (const word of words) {
		const equals = word.indexOf('=');
		const name = word.slice(0, equals);
		if (equals < 1) {
			problems.push(`--param ${JSON.stringify(word)} must be NAME=VALUE`);
		} else if (Object.hasOwn(given, name)) {
			problems.push(`--param ${name} is given twice; which one would win?`);
		} else {
			given[name] = valueFromText(runbook.parameters.find(parameter => parameter.name === name), word.slice(equals + 1));
		}
	}

	return problems.length > 0 ? {ok: false, problems} : {ok: true, given};
}

/** The values as a record keeps them: each secret as `secret:sha256:…`. */
export function recordedParameters(runbook: Runbook, values: ParameterValues): Record<string, unknown> {
	const recorded: Record<string, unknown> = {};
	for (const parameter of runbook.parameters) {
		if (Object.hasOwn(values, parameter.name)) {
			recorded[parameter.name] = parameter.secret ? secretHash(values[parameter.name]) : values[parameter.name];
		}
	}

	return recorded;
}

export function secretHash(value: unknown): string {
	return hashSecret(typeof value === 'string' ? value : JSON.stringify(value));
}
