/**
 * A runbook's parameters as fields to fill, each typed by its JSON Schema: a choice (an `enum`,
 * or a boolean) is picked with ← →, a string is typed as it is, anything else (numbers, arrays,
 * objects) is typed as JSON. The file's default fills a field at first; a secret one starts
 * empty, is shown masked, and left empty keeps its default. Each value is checked against its
 * schema as the runbook core checks it (parameter-schema.ts), so what is refused here is refused
 * there, with the same words. Pure.
 */
import type {Parameter} from '../../../runbooks/model.js';
import {compileParameterSchema, describeValueError} from '../../../runbooks/parameter-schema.js';

export type FieldKind = 'choice' | 'text' | 'json';

export type ParameterField = {
	parameter: Parameter;
	kind: FieldKind;
	/** A choice's values (an enum's, or true and false). */
	choices: readonly unknown[];
	/** The chosen value's index (-1: none yet). */
	chosen: number;
	text: string;
	error?: string;
};

export function parameterFields(parameters: readonly Parameter[]): ParameterField[] {
	return parameters.map(parameter => {
		const choices = choicesOf(parameter.schema);
		if (choices) {
			return {parameter, kind: 'choice', choices, chosen: choices.findIndex(choice => JSON.stringify(choice) === JSON.stringify(parameter.default)), text: ''};
		}

		const kind: FieldKind = acceptsString(parameter.schema) ? 'text' : 'json';
		const shown = parameter.secret || parameter.default === undefined ? '' : (kind === 'text' && typeof parameter.default === 'string' ? parameter.default : JSON.stringify(parameter.default));
		return {parameter, kind, choices: [], chosen: -1, text: shown};
	});
}

function choicesOf(schema: Record<string, unknown>): unknown[] | undefined {
	if (Array.isArray(schema['enum'])) {
		return schema['enum'] as unknown[];
	}

	return schema['type'] === 'boolean' ? [true, false] : undefined;
}

function acceptsString(schema: Record<string, unknown>): boolean {
	const type = schema['type'];
	return type === undefined || type === 'string' || (Array.isArray(type) && type.includes('string'));
}

/** What the field's type says, for its label: `string`, `integer`, `one of london, paris`. */
export function fieldType(field: ParameterField): string {
	if (field.kind === 'choice') {
		return field.choices.length === 2 && field.choices.every(choice => typeof choice === 'boolean') ? 'yes or no' : `one of ${field.choices.map(choice => choiceText(choice)).join(', ')}`;
	}

	const type = field.parameter.schema['type'];
	return `${Array.isArray(type) ? type.join(' or ') : typeof type === 'string' ? type : 'text'}${field.kind === 'json' ? ' (JSON)' : ''}`;
}

export function choiceText(choice: unknown): string {
	return typeof choice === 'string' ? choice : JSON.stringify(choice);
}

/** What the field shows: a secret as one dot a character, a choice as its value (or a hint to pick). */
export function fieldText(field: ParameterField): string {
	if (field.kind === 'choice') {
		return field.chosen < 0 ? '← → to choose' : choiceText(field.choices[field.chosen]);
	}

	return field.parameter.secret ? '•'.repeat([...field.text].length) : field.text;
}

/** The value a field gives: undefined leaves the parameter to its default (the core names one that has none). */
export function fieldValue(field: ParameterField): {ok: true; value: unknown} | {ok: false; reason: string} {
	if (field.kind === 'choice') {
		return {ok: true, value: field.chosen < 0 ? undefined : field.choices[field.chosen]};
	}

	if (field.text === '' && (field.parameter.secret || field.kind === 'json')) {
		return {ok: true, value: undefined};
	}

	if (field.kind === 'text') {
		return {ok: true, value: field.text};
	}

	try {
		return {ok: true, value: JSON.parse(field.text) as unknown};
	} catch {
		return {ok: false, reason: `is not JSON (${fieldType(field)}): type it as JSON, e.g. ${jsonExample(field.parameter.schema)}`};
	}
}

function jsonExample(schema: Record<string, unknown>): string {
	switch (schema['type']) {
		case 'integer':
		case 'number': {
			return '3';
		}

		case 'array': {
			return '["a", "b"]';
		}

		default: {
			return '{"key": "value"}';
		}
	}
}

/** Checks every field; the values by name (those left to their default absent), or the fields with their errors. */
export function checkFields(fields: readonly ParameterField[]): {ok: true; values: Record<string, unknown>} | {ok: false; fields: ParameterField[]} {
	const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
	let bad = false;
	const checked = fields.map(field => {
		const error = fieldError(field);
		if (error) {
			bad = true;
			return {...field, error};
		}

		const given = fieldValue(field);
		if (given.ok && given.value !== undefined) {
			values[field.parameter.name] = given.value;
		}

		const {error: _cleared, ...rest} = field;
		return rest;
	});
	return bad ? {ok: false, fields: checked} : {ok: true, values};
}

function fieldError(field: ParameterField): string | undefined {
	const given = fieldValue(field);
	if (!given.ok) {
		return given.reason;
	}

	const value = given.value ?? field.parameter.default;
	if (value === undefined) {
		return field.kind === 'choice' ? 'choose a value with ← →' : 'has no default: type a value';
	}

	const compiled = compileParameterSchema(field.parameter.schema);
	if (!compiled.ok) {
		return compiled.reason;
	}

	return compiled.validate(value) ? undefined : describeValueError(compiled.validate);
}

/** A key on a field: text typed (a choice takes none), erased, or ← → on a choice. */
export function editField(field: ParameterField, edit: {type: 'type'; text: string} | {type: 'erase'} | {type: 'cycle'; delta: number}): ParameterField {
	const {error: _cleared, ...rest} = field;
	switch (edit.type) {
		case 'type': {
			return field.kind === 'choice' ? field : {...rest, text: field.text + edit.text};
		}

		case 'erase': {
			return field.kind === 'choice' ? field : {...rest, text: [...field.text].slice(0, -1).join('')};
		}

		case 'cycle': {
			if (field.kind !== 'choice' || field.choices.length === 0) {
				return field;
			}

			const count = field.choices.length;
			const from = field.chosen < 0 ? (edit.delta > 0 ? -1 : 0) : field.chosen;
			return {...rest, chosen: (((from + edit.delta) % count) + count) % count};
		}
	}
}
