/**
 * Ajv (JSON Schema 2020-12) for the REST API: requests validated against their route's schemas
 * (bodies with defaults, query strings coerced), and every answer against its published schema
 * before it is sent — an answer that breaks it is the server's fault (INTERNAL), never sent.
 */
import {Ajv2020, type ErrorObject} from 'ajv/dist/2020.js';
import type {FastifyInstance} from 'fastify';
import {XiError} from '../errors.js';
import {safeJson} from '../output/visible.js';
import type {RunEvent} from '../run/events.js';
import {runEventSchema} from './schemas.js';

/** Installs the compilers; returns the check of one Server-Sent Event's data against the RunEvent schema. */
export function installSchemaCompilers(app: FastifyInstance): (event: RunEvent) => string | undefined {
	const ajvOptions = {strict: true, allErrors: false, allowUnionTypes: true, formats: {'date-time': true}} as const;
	const bodyAjv = new Ajv2020({...ajvOptions, useDefaults: true, coerceTypes: false});
	const queryAjv = new Ajv2020({...ajvOptions, useDefaults: true, coerceTypes: 'array'});
	const answerAjv = new Ajv2020({...ajvOptions});
	app.setValidatorCompiler(({schema, httpPart}) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema as object));
	app.setSerializerCompiler(({schema, method, url, httpStatus}) => {
		const validate = answerAjv.compile(schema as object);
		return (data: unknown) => {
			if (!validate(data)) {
				throw new XiError('INTERNAL', `the answer to ${method} ${url} (${String(httpStatus)}) breaks its published schema: ${describeAjv(validate.errors)}`);
			}

			return safeJson(data);
		};
	});
	const validateEvent = answerAjv.compile(runEventSchema);
	return event => (validateEvent(event) ? undefined : describeAjv(validateEvent.errors));
}

function describeAjv(errors: ErrorObject[] | null | undefined): string {
	const [first] = errors ?? [];
	return first ? `${first.instancePath || '(root)'} ${first.message ?? 'is invalid'}` : 'invalid';
}
