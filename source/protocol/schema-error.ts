/**
 * A failed argument check in words. Apart from args-schema.ts so that what only reads a
 * validator's errors (the agent deciding a run) does not load Ajv, which costs the agent about
 * 8 MiB of resident memory when it has no schema to compile.
 */
import type {ValidateFunction} from 'ajv/dist/2020.js';

/** The first schema error as one phrase: `argument #1 must match pattern "^[a-z]+$"`. */
export function describeSchemaError(validate: ValidateFunction): string {
	const [first] = validate.errors ?? [];
	const where = first?.instancePath ? `argument #${Number(first.instancePath.slice(1)) + 1}` : 'the arguments';
	return `${where} ${first?.message ?? 'are invalid'}`;
}
