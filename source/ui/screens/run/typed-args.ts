/** The arguments typed on the run screen, parsed and checked (limits, the script's schema) before anything is sent. Pure. */
import {checkArgs} from '../../../protocol/args.js';
import {compileArgsSchema, describeSchemaError} from '../../../protocol/args-schema.js';
import {parseArgsInput} from './script-choices.js';
import type {RunScreenAction} from './use-run-state.js';

export function checkTypedArgs(text: string, schema: unknown): RunScreenAction {
	const parsed = parseArgsInput(text);
	if (!parsed.ok) {
		return {type: 'args-refused', reason: parsed.reason};
	}

	const limit = checkArgs(parsed.args);
	if (limit) {
		return {type: 'args-refused', reason: limit};
	}

	if (schema !== undefined) {
		const compiled = compileArgsSchema(schema);
		if (!compiled.ok) {
			return {type: 'args-refused', reason: compiled.reason};
		}

		if (!compiled.validate(parsed.args)) {
			return {type: 'args-refused', reason: describeSchemaError(compiled.validate)};
		}
	}

	return {type: 'args-accepted', args: parsed.args};
}
