/**
 * A runbook parameter's JSON Schema (2020-12), compiled with Ajv: strict, size-limited, local
 * `$ref`s only, so compiling one never reaches the network. Pure.
 */
import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js';

const maxSchemaBytes = 16 * 1024;

export type CompiledParameterSchema = {ok: true; validate: ValidateFunction} | {ok: false; reason: string};

export function compileParameterSchema(schema: Record<string, unknown>): CompiledParameterSchema {
	const text = JSON.stringify(schema);
	if (text.length > maxSchemaBytes) {
		return {ok: false, reason: `its schema is ${text.length} bytes; the limit is ${maxSchemaBytes}`};
	}

	if (/"\$ref"\s*:\s*"(?!#)/.test(text)) {
		return {ok: false, reason: 'its schema may only use local "$ref"s (starting with #)'};
	}

	try {
		return {ok: true, validate: new Ajv2020({strict: true, allErrors: false}).compile(schema)};
	} catch (error) {
		return {ok: false, reason: `its schema is not valid JSON Schema 2020-12: ${(error as Error).message}`};
	}
}

/** The first error as a phrase: `must be equal to one of the allowed values (london, paris)`. */
export function describeValueError(validate: ValidateFunction): string {
	const [first] = validate.errors ?? [];
	if (!first) {
		return 'is invalid';
	}

	const allowed = (first.params as {allowedValues?: unknown[]}).allowedValues;
	const where = first.instancePath ? ` at ${first.instancePath}` : '';
	return `${where ? `${where.trim()} ` : ''}${first.message ?? 'is invalid'}${allowed ? ` (${allowed.map(value => JSON.stringify(value)).join(', ')})` : ''}`;
}
