/** Agents' argument schemas are untrusted: size limit, local $refs only, guarded patterns, no base-URI changes. */
import test from 'ava';
import {compileAdvertisedSchema, relocateSchema} from '../../source/core/advertised-schema.js';
import {buildCatalog, variantFor} from '../../source/core/script-catalog.js';
import type {Discovered} from '../../source/dispatch/discover.js';

const refusals: Array<[string, unknown, RegExp]> = [
	['a remote $ref', {type: 'array', items: {$ref: 'https://example.com/schema.json'}}, /only use local "\$ref"s/],
	['a relative remote $ref', {type: 'array', items: {$ref: 'other.json#/x'}}, /only use local/],
	['over the size limit', {type: 'array', description: 'x'.repeat(70 * 1024)}, /the limit is 65536/],
	['a nested quantifier', {type: 'array', items: {type: 'string', pattern: '^(a+)+$'}}, /unsafe pattern .*exponential/],
	['a backreference', {type: 'array', items: {type: 'string', pattern: '(a)\\1'}}, /unsafe pattern .*backreferences/],
	['a lookahead', {type: 'array', items: {type: 'string', pattern: '(?=a)a'}}, /lookaround/],
	['an unsafe patternProperties key', {type: 'array', items: {type: 'object', patternProperties: {'(x*)*': {}}}}, /patternProperties key/],
	['a long pattern', {type: 'array', items: {type: 'string', pattern: 'a'.repeat(300)}}, /longer than 256/],
	['$id', {$id: 'https://example.com/s', type: 'array'}, /uses \$id/],
	['$dynamicRef', {type: 'array', items: {$dynamicRef: '#x'}}, /uses \$dynamicRef/],
	['not JSON Schema', {type: 'arrayish'}, /not valid JSON Schema 2020-12/],
	['an unknown keyword (strict)', {type: 'array', itemz: {}}, /not valid JSON Schema 2020-12/],
	['not an object', ['array'], /not a JSON object/],
	['too deep', JSON.parse('{"type":"array","items":'.repeat(70) + '{}' + '}'.repeat(70)), /nested too deeply|not valid/],
];

for (const [what, schema, reason] of refusals) {
	test(`refused: ${what}`, t => {
		const compiled = compileAdvertisedSchema(schema);
		t.false(compiled.ok);
		t.regex(compiled.ok ? '' : compiled.reason, reason);
	});
}

test('a usable schema compiles once and validates; the same text is not compiled again', t => {
	const schema = {type: 'array', items: {$ref: '#/$defs/word'}, $defs: {word: {type: 'string', pattern: '^[a-z]+$'}}};
	const first = compileAdvertisedSchema(schema);
	const again = compileAdvertisedSchema(structuredClone(schema));
	t.true(first.ok);
	t.is(first, again);
	if (first.ok) {
		t.true(first.validate(['abc']));
		t.false(first.validate(['ABC']));
	}
});

test('relocating a schema rewrites its local $refs and drops $schema', t => {
	const moved = relocateSchema({$schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', items: {$ref: '#/$defs/word'}, $defs: {word: {type: 'string'}}, prefixItems: [{$ref: '#'}]}, '#/components/schemas/Args.x');
	t.deepEqual(moved, {type: 'array', items: {$ref: '#/components/schemas/Args.x/$defs/word'}, $defs: {word: {type: 'string'}}, prefixItems: [{$ref: '#/components/schemas/Args.x'}]});
});

const found = (name: string, scripts: Discovered['scripts'], status: Discovered['status'] = 'reachable'): Discovered => ({name, address: '127.0.0.1:1', status, scripts});

test('the catalog groups agents by identical schema, skips unreachable agents, bad names and refused schemas', t => {
	const words = {type: 'array', items: {type: 'string'}};
	const catalog = buildCatalog([
		found('web1', [{name: 'greet', description: 'Greet', timeoutSeconds: 10, args: words}, {name: 'Bad Name', description: '', timeoutSeconds: 1}]),
		found('web2', [{name: 'greet', description: 'Greet', timeoutSeconds: 10, args: structuredClone(words)}]),
		found('web3', [{name: 'greet', description: 'Greet (no schema)', timeoutSeconds: 5}, {name: 'risky', description: '', timeoutSeconds: 1, args: {type: 'array', items: {pattern: '(a*)*'}}}]),
		found('down', [{name: 'ghost', description: '', timeoutSeconds: 1}], 'unreachable'),
	]);
	t.deepEqual(catalog.scripts.map(script => script.name), ['greet']);
	const [greet] = catalog.scripts;
	t.deepEqual(greet!.variants.map(variant => variant.agents), [['web1', 'web2'], ['web3']]);
	t.is(variantFor(greet!, 'web2'), greet!.variants[0]);
	t.is(variantFor(greet!, 'web9'), undefined);
	t.deepEqual(catalog.problems.map(problem => [problem.agent, problem.script]), [['web3', 'risky']]);
	t.deepEqual(buildCatalog([found('web1', [{name: 'greet', description: '', timeoutSeconds: 1}, {name: 'other', description: '', timeoutSeconds: 1}])], name => name === 'other').scripts.map(script => script.name), ['other']);
});
