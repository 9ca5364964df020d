/**
 * A runbook file's text → a checked Runbook, or every problem found, each with its line (YAML) and
 * its place (`steps[1].onFailure`). YAML is read by the `yaml` package as YAML 1.2 core schema:
 * duplicate keys are errors, merge keys are off, aliases are capped (no billion laughs), and a
 * file with more than one document is refused. JSON files are read with JSON.parse. Then the
 * file's JSON Schema (file-schema.ts), then the checks between parts (check-structure.ts). Pure.
 */
import {Ajv2020, type ErrorObject} from 'ajv/dist/2020.js';
import {LineCounter, parseAllDocuments, type Document} from 'yaml';
import {buildRunbook} from './build-runbook.js';
import {runbookFileSchema} from './file-schema.js';
import type {Runbook} from './model.js';

export type RunbookRead = {ok: true; runbook: Runbook} | {ok: false; problems: string[]};

/** Large enough for any runbook a person writes, small enough to refuse a generated monster. */
export const maxRunbookBytes = 256 * 1024;

const ajv = new Ajv2020({strict: true, allErrors: true, verbose: true});
ajv.addKeyword({keyword: 'expected', schemaType: 'string'});
const validateFile = ajv.compile(runbookFileSchema);

export function readRunbook(name: string, text: string, format: 'yaml' | 'json'): RunbookRead {
	if (Buffer.byteLength(text) > maxRunbookBytes) {
		return {ok: false, problems: [`the file is ${Buffer.byteLength(text)} bytes; a runbook may have at most ${maxRunbookBytes}`]};
	}

	const parsed = format === 'json' ? parseJson(text) : parseYaml(text);
	if (!parsed.ok) {
		return parsed;
	}

	if (!validateFile(parsed.value)) {
		return {ok: false, problems: describeErrors(validateFile.errors ?? [], parsed.where)};
	}

	return buildRunbook(name, parsed.value);
}

type Parsed = {ok: true; value: unknown; where: (path: string[]) => string} | {ok: false; problems: string[]};

function parseJson(text: string): Parsed {
	try {
		return {ok: true, value: JSON.parse(text) as unknown, where: path => placeOf(path)};
	} catch (error) {
		return {ok: false, problems: [`not JSON: ${(error as Error).message}`]};
	}
}

function parseYaml(text: string): Parsed {
	const lineCounter = new LineCounter();
	const documents = parseAllDocuments(text, {lineCounter, uniqueKeys: true, merge: false, schema: 'core', prettyErrors: false});
	if (!Array.isArray(documents) || documents.length === 0) {
		return {ok: false, problems: ['the file is empty']};
	}

	if (documents.length !== 1) {
		return {ok: false, problems: [`the file holds ${documents.length} YAML documents; a runbook is one`]};
	}

	const document = documents[0]!;
	const errors = [...document.errors];
	if (errors.length > 0) {
		return {ok: false, problems: errors.map(error => `line ${lineCounter.linePos(error.pos[0]).line}: ${firstLine(error.message)}`)};
	}

	let value: unknown;
	try {
		value = document.toJS({maxAliasCount: 64});
	} catch (error) {
		return {ok: false, problems: [firstLine((error as Error).message)]};
	}

	return {ok: true, value, where: path => `line ${lineOf(document, lineCounter, path)}, ${placeOf(path)}`};
}

function lineOf(document: Document, lineCounter: LineCounter, path: string[]): number {
	// The deepest node that exists on the path: a missing property is reported at its parent.
	for (let length = path.length; length >= 0; length--) {
		const keys = path.slice(0, length).map(key => (/^\d+$/.test(key) ? Number(key) : key));
		const node: unknown = length === 0 ? document.contents : document.getIn(keys, true);
		const range = (node as {range?: [number, number, number]} | undefined)?.range;
		if (range) {
			return lineCounter.linePos(range[0]).line;
		}
	}

	return 1;
}

/** `steps[1].onFailure` for /steps/1/onFailure. */
export function placeOf(path: readonly string[]): string {
	if (path.length === 0) {
		return 'the file';
	}

	return path.map((key, index) => (/^\d+$/.test(key) ? `[${key}]` : (index === 0 ? key : `.${key}`))).join('');
}

/**
 * Ajv's errors as one sentence each. The branches of a choice (`anyOf`) are not listed one by one:
 * the choice says what it expected. A value with an unknown property names that property.
 */
function describeErrors(errors: readonly ErrorObject[], where: (path: string[]) => string): string[] {
	const choices = errors.filter(error => error.keyword === 'anyOf').map(error => error.schemaPath.replace(/\/anyOf$/, '/anyOf/'));
	const problems: string[] = [];
	for (const error of errors) {
		if (error.keyword === 'if' || choices.some(prefix => error.schemaPath.startsWith(prefix))) {
			continue;
		}

		const path = error.instancePath.split('/').slice(1).map(key => key.replaceAll('~1', '/').replaceAll('~0', '~'));
		const expected = (error.parentSchema as {expected?: string} | undefined)?.expected;
		let message: string;
		if (error.keyword === 'additionalProperties') {
			const extra = (error.params as {additionalProperty: string}).additionalProperty;
			path.push(extra);
			message = `unknown property ${JSON.stringify(extra)}`;
		} else if (error.keyword === 'required') {
			message = `missing ${JSON.stringify((error.params as {missingProperty: string}).missingProperty)}`;
		} else if (error.keyword === 'enum') {
			message = `must be one of ${((error.params as {allowedValues: unknown[]}).allowedValues).map(value => JSON.stringify(value)).join(', ')}`;
		} else if (expected && (error.keyword === 'anyOf' || error.keyword === 'pattern')) {
			message = `must be ${expected}`;
		} else {
			message = error.message ?? 'is invalid';
		}

		problems.push(`${where(path)}: ${message}`);
	}

	return [...new Set(problems)];
}

function firstLine(text: string): string {
	return text.split('\n')[0]!.trim();
}
