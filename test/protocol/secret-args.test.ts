/** Secret arguments: which positions a schema marks, how they are hashed, and how a run learns them from its targets. */
import {createHash} from 'node:crypto';
import test from 'ava';
import {secretArgsForRun} from '../../source/dispatch/secret-targets.js';
import type {Discovered} from '../../source/dispatch/discover.js';
import {compileArgsSchema} from '../../source/protocol/args-schema.js';
import {allSecret, hashSecret, noSecrets, redactArgs, scrubSecrets, secretArgsOf, unionSecrets} from '../../source/protocol/secret-args.js';

const tuple = (...secret: boolean[]) => ({type: 'array', prefixItems: secret.map(flag => (flag ? {type: 'string', secret: true} : {type: 'string'})), minItems: secret.length, items: false});

const schemas: Array<[string, unknown, string[]]> = [
	['no schema', undefined, ['a', 'b', 'c']],
	['no secret', tuple(false, false, false), ['a', 'b', 'c']],
	['the second position', tuple(false, true, false), ['a', hashSecret('b'), 'c']],
	['items: every position after prefixItems', {type: 'array', prefixItems: [{type: 'string'}], items: {type: 'string', secret: true}}, ['a', hashSecret('b'), hashSecret('c')]],
	['the whole schema', {type: 'array', secret: true}, [hashSecret('a'), hashSecret('b'), hashSecret('c')]],
	['secret: false', {type: 'array', items: {type: 'string', secret: false}}, ['a', 'b', 'c']],
	['secret as a string is not a mark', {type: 'array', prefixItems: [{secret: 'true'}], items: true}, ['a', 'b', 'c']],
];

for (const [what, schema, shown] of schemas) {
	test(`redactArgs: ${what}`, t => {
		t.deepEqual(redactArgs(['a', 'b', 'c'], secretArgsOf(schema)), shown);
	});
}

test('the hash is SHA-256 of a domain prefix and the value, in hex', t => {
	t.is(hashSecret('hunter2'), 'secret:sha256:' + createHash('sha256').update('xi-exec secret argument v1\0hunter2').digest('hex'));
	t.not(hashSecret('hunter2'), 'secret:sha256:' + createHash('sha256').update('hunter2').digest('hex'), 'not the bare value\'s hash');
});

test('the schema validator accepts "secret": true and refuses a non-boolean', t => {
	t.true(compileArgsSchema(tuple(false, true)).ok);
	t.true(compileArgsSchema({type: 'array', items: {type: 'string', secret: true}}).ok);
	const bad = compileArgsSchema({type: 'array', items: {type: 'string', secret: 'yes'}});
	t.false(bad.ok);
	t.regex(bad.ok ? '' : bad.reason, /secret/);
});

test('scrubSecrets replaces each secret value, as is or JSON-quoted, in one pass, and leaves others', t => {
	const secret = secretArgsOf(tuple(false, true, true));
	t.is(scrubSecrets('argument 2 "pa$$(w)" does not match; a is fine', ['a', 'pa$$(w)', ''], secret), `argument 2 "${hashSecret('pa$$(w)')}" does not match; a is fine`);
	t.is(scrubSecrets('got "quo\\"te"', ['x', 'quo"te', 'z'], secret), `got "${hashSecret('quo"te')}"`);
	t.is(scrubSecrets('ab and abc', ['x', 'ab', 'abc'], secret), `${hashSecret('ab')} and ${hashSecret('abc')}`, 'the longer value first, no hash rewritten');
	t.is(scrubSecrets('nothing', ['nothing'], noSecrets), 'nothing');
});

test('unionSecrets: a position any schema marks is secret', t => {
	t.deepEqual(unionSecrets([secretArgsOf(tuple(true, false)), secretArgsOf(tuple(false, false, true))]), {positions: [0, 2], from: Number.POSITIVE_INFINITY});
	t.deepEqual(unionSecrets([noSecrets, allSecret]), allSecret);
});

const found = (name: string, schema?: unknown, status: Discovered['status'] = 'reachable'): Discovered => ({name, address: '127.0.0.1:1', status, scripts: status === 'reachable' ? [{name: 'set', description: '', timeoutSeconds: 30, ...(schema === undefined ? {} : {args: schema})}] : []});
const targets = [{name: 'a', address: '127.0.0.1:1'}, {name: 'b', address: '127.0.0.1:2'}];

test('a run learns its secrets from the targets; when no host that answered has the script, every argument is secret', async t => {
	let asked = 0;
	const describe = (answers: Discovered[]) => async () => {
		asked++;
		return answers;
	};

	t.deepEqual(await secretArgsForRun('set', ['x', 'y'], targets, describe([found('a', tuple(false, true)), found('b')])), {positions: [1], from: Number.POSITIVE_INFINITY});
	t.deepEqual(await secretArgsForRun('set', ['x', 'y'], targets, describe([found('a', tuple(false, true)), found('b', undefined, 'unreachable')])), {positions: [1], from: Number.POSITIVE_INFINITY}, 'a host down: the others\' schema');
	t.deepEqual(await secretArgsForRun('set', ['x', 'y'], targets, describe([found('a', tuple(false, false)), found('b', undefined, 'unreachable')])), noSecrets);
	t.deepEqual(await secretArgsForRun('set', ['x', 'y'], targets, describe([found('a', undefined, 'unreachable'), found('b', undefined, 'unreachable')])), allSecret, 'nobody answered');
	t.deepEqual(await secretArgsForRun('other', ['x', 'y'], targets, describe([found('a'), found('b', undefined, 'unreachable')])), allSecret, 'only the host that is down might have the script');
	t.deepEqual(await secretArgsForRun('other', ['x', 'y'], targets, describe([found('a'), found('b')])), noSecrets, 'nobody has the script, and everyone answered');
	t.deepEqual(await secretArgsForRun('set', ['x', 'y'], targets, describe([])), allSecret, 'no answers at all');
	t.is(asked, 7);
	t.deepEqual(await secretArgsForRun('set', [], targets, describe([])), noSecrets, 'no arguments: nobody is asked');
	t.is(asked, 7);
});
