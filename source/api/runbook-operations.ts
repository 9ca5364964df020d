/**
 * /openapi.json's operations per runbook: `POST /v1/runbooks/{name}/runs` with that runbook's
 * parameters as the body's `params` (runbookParamsSchema is pure), for every valid runbook file.
 */
import {stageSteps, type Runbook} from '../runbooks/model.js';
import {readRunbook} from '../runbooks/read-runbook.js';
import {listRunbookFiles, readRunbookBytes} from '../runbooks/runbook-files.js';
import type {ApiPorts} from './route-file.js';
import {accepted, anyObject, runBody} from './runbook-schemas.js';
import type {JsonSchema} from './schemas.js';

export function stepNames(runbook: Runbook): string[] {
	return [...runbook.stages.flatMap(stage => stageSteps(stage).map(step => step.name)), ...runbook.handlers.map(step => step.name)];
}

/** One operation per runbook for /openapi.json: `POST /v1/runbooks/{name}/runs` with that runbook's parameters as the body's `params`. */
export function runbookOperations(paths: ApiPorts['paths']): Record<string, Record<string, unknown>> {
	const operations: Record<string, Record<string, unknown>> = {};
	for (const file of listRunbookFiles(paths)) {
		let runbook: Runbook;
		try {
			const bytes = readRunbookBytes(paths, file.name);
			const read = readRunbook(file.name, bytes.text, bytes.format);
			if (!read.ok) {
				continue;
			}

			runbook = read.runbook;
		} catch {
			continue;
		}

		const params = runbookParamsSchema(runbook);
		operations[`/v1/runbooks/${runbook.name}/runs`] = {
			post: {
				operationId: `runRunbook_${runbook.name.replaceAll(/[^a-z0-9]/g, '_')}`,
				summary: runbook.description ?? `Run runbook ${runbook.name}`,
				description: `Runs the steps ${stepNames(runbook).join(', ')} of runbooks/${file.file.replace(/^runbooks\//, '')}, each a normal run under the caller's token. Answers as POST /v1/runbooks/{name}/runs.`,
				tags: ['runbooks'],
				requestBody: {required: true, content: {'application/json': {schema: runBody(params)}}},
				responses: {
					200: {description: 'The run\'s record', content: {'application/json': {schema: anyObject}}},
					202: {description: 'Accepted: follow its events', content: {'application/json': {schema: accepted}}},
					400: {description: 'The runbook or its parameters are refused (RUNBOOK_INVALID lists every problem)', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
					401: {description: 'No valid bearer token', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
					403: {description: 'A step reaches outside the token\'s scope', content: {'application/json': {schema: {$ref: '#/components/schemas/Error'}}}},
				},
			},
		};
	}

	return operations;
}

/** A runbook's parameters as the JSON Schema of a run's `params`: secret ones write-only, those without a default required. Pure. */
export function runbookParamsSchema(runbook: Runbook): JsonSchema {
	return {
		type: 'object',
		additionalProperties: false,
		properties: Object.fromEntries(runbook.parameters.map(parameter => [parameter.name, {...parameter.schema, ...(parameter.description ? {description: parameter.description} : {}), ...(parameter.default === undefined ? {} : {default: parameter.default}), ...(parameter.secret ? {writeOnly: true} : {})}])),
		required: runbook.parameters.filter(parameter => parameter.default === undefined).map(parameter => parameter.name),
	};
}
