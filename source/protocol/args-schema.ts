/**
 * Argument schemas (JSON Schema 2020-12 over the argument array), compiled with Ajv. Schemas are
 * size-limited and may only use local `$ref`s, so compiling one never reaches the network.
 */
import {Ajv2020, type ValidateFunction} from 'ajv/dist/2020.js';

export {describeSchemaError} from './schema-error.js';

export const maxSchemaBytes = 64 * 1024;

export type CompiledSchema = {ok: true; validate: ValidateFunction} | {ok: false; reason: string};

export function compileArgsSchema(schema: unknown): CompiledSchema {
	const text = JSON.stringify(schema) ?? '';
	if (text.length > maxSchemaBytes) {
		return {ok: false, reason: `the argument schema is ${text.length} bytes; the limit is ${maxSchemaBytes}`};
	}

	if (/"\$ref"\s*:\s*"(?!#)/.test(text)) {
		return {ok: false, reason: 'the argument schema may only use local "$ref"s (starting with #)'};
	}

	try {
		const ajv = new Ajv2020({strict: true, allErrors: false});
		// "secret": true marks an argument to be kept and shown only as a hash (see secret-args.ts).
		ajv.addKeyword({keyword: 'secret', schemaType: 'boolean'});
		// "option": true lets a position begin with "-" (see option-args.ts).
		ajv.addKeyword({keyword: 'option', schemaType: 'boolean'});
		return {ok: true, validate: ajv.compile(schema as object)};
	} catch (error) {
		return {ok: false, reason: `the argument schema is not valid JSON Schema 2020-12: ${(error as Error).message}`};
	}
}
