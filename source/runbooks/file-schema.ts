/**
 * The JSON Schema (2020-12) of a runbook file, checked with Ajv before anything else reads it.
 * `expected` is ours: the phrase an operator reads when a value matches none of a choice's forms.
 */
const name = {type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', expected: 'a name of lower-case letters, digits, dot, dash or underscore (at most 64)'};
const parameterName = {type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$'};
const paramRef = {type: 'object', properties: {param: parameterName}, required: ['param'], additionalProperties: false};
const amount = {
	anyOf: [{type: 'integer', minimum: 0}, {type: 'string', pattern: '^(\\d+|(100|[1-9]\\d?)%)$'}],
	expected: 'a whole number or a percentage from 1% to 100%',
};
const seconds = {type: 'integer', minimum: 1, maximum: 86_400};

const tags = {
	type: 'object',
	properties: {tags: {type: 'object', minProperties: 1, additionalProperties: {anyOf: [{type: 'string'}, paramRef], expected: 'a tag value or {param: NAME}'}}},
	required: ['tags'],
	additionalProperties: false,
};
const selectorItem = {
	anyOf: [{type: 'string', minLength: 1}, paramRef, tags],
	expected: 'a selector, {param: NAME} or {tags: {KEY: VALUE or {param: NAME}}}',
};

const step = {
	type: 'object',
	properties: {
		name,
		description: {type: 'string'},
		script: name,
		on: {
			anyOf: [
				{type: 'string', minLength: 1},
				{type: 'array', items: selectorItem, minItems: 1},
				paramRef,
				tags,
				{type: 'object', properties: {failedIn: name}, required: ['failedIn'], additionalProperties: false},
				{type: 'object', properties: {succeededIn: name}, required: ['succeededIn'], additionalProperties: false},
			],
			expected: 'a selector, a list of them, {param: NAME}, {tags: {...}}, {failedIn: STEP} or {succeededIn: STEP}',
		},
		args: {type: 'array', items: {anyOf: [{type: 'string'}, {type: 'number'}, {type: 'boolean'}, paramRef], expected: 'a string, a number, true/false or {param: NAME}'}},
		batch: amount,
		maxFailures: amount,
		canary: {type: 'integer', minimum: 1},
		ignoreUnreachable: {type: 'boolean'},
		timeout: seconds,
		runTimeout: seconds,
		idleTimeout: seconds,
		onFailure: {type: 'string', pattern: '^(stop|continue|run [a-z0-9][a-z0-9._-]{0,63})$', expected: 'stop, continue or "run STEP"'},
		when: {enum: ['previous.ok', 'always']},
	},
	required: ['name', 'script', 'on'],
	additionalProperties: false,
};

const group = {
	type: 'object',
	properties: {
		parallel: {type: 'array', items: step, minItems: 2},
		when: {enum: ['previous.ok', 'always']},
	},
	required: ['parallel'],
	additionalProperties: false,
};

export const runbookFileSchema = {
	$schema: 'https://json-schema.org/draft/2020-12/schema',
	type: 'object',
	properties: {
		description: {type: 'string'},
		parameters: {
			type: 'object',
			propertyNames: parameterName,
			additionalProperties: {
				type: 'object',
				properties: {
					description: {type: 'string'},
					schema: {type: 'object'},
					default: true,
					secret: {type: 'boolean'},
				},
				additionalProperties: false,
			},
		},
		steps: {
			type: 'array',
			minItems: 1,
			maxItems: 256,
			items: {if: {type: 'object', properties: {parallel: true}, required: ['parallel']}, then: group, else: step},
		},
	},
	required: ['steps'],
	additionalProperties: false,
} as const;
