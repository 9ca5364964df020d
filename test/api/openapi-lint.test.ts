/**
 * The live /openapi.json (a real serve in front of a real agent with a script whose arguments have
 * a schema) linted by Stoplight Spectral with its `spectral:oas` ruleset: no error, no warning, no
 * hint; and every operation declares each error status it can answer with the error schema (a
 * run's 409 with the approval-pending one), not a 4XX/5XX range.
 */
import {execFile} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';
import {call, createToken, startApiFleet} from './api-fleet.js';

const spectral = join(repoRoot, 'node_modules', '.bin', 'spectral');

test('spectral:oas finds nothing in the live document; every operation declares its error statuses one by one', async t => {
	const fleet = await startApiFleet([{name: 'web1', scripts: {greet: {body: '#!/bin/sh\necho "$1"\n', description: 'Greet someone', schema: {type: 'array', maxItems: 1, items: {type: 'string', pattern: '^[a-z]+$'}}}}}]);
	t.teardown(async () => fleet.close());
	const admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	const answer = await call(fleet, 'GET', '/openapi.json', {token: admin});
	t.is(answer.status, 200, answer.text);
	const directory = temporaryDirectory('xi-exec-spectral-');
	writeFileSync(join(directory, 'openapi.json'), answer.text);
	writeFileSync(join(directory, '.spectral.yaml'), 'extends: ["spectral:oas"]\n');
	const result = await promisify(execFile)(spectral, ['lint', join(directory, 'openapi.json'), '--ruleset', join(directory, '.spectral.yaml'), '--fail-severity', 'hint'], {cwd: directory}).then(
		output => ({code: 0, stdout: output.stdout}),
		(error: {code: number; stdout: string}) => ({code: error.code, stdout: error.stdout}),
	);
	t.log(`ran: ${spectral} lint --ruleset spectral:oas`);
	t.is(result.code, 0, result.stdout);
	t.regex(result.stdout, /No results with a severity of 'hint' or higher found!/, result.stdout);

	const document = answer.json();
	t.deepEqual(document.servers, [{url: '/', description: 'This controller (xi-exec serve)'}]);
	for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, {description?: string; responses: Record<string, {content: Record<string, {schema: unknown}>}>}>>)) {
		for (const [method, operation] of Object.entries(operations)) {
			const statuses = Object.keys(operation.responses);
			t.false(statuses.some(status => /X/.test(status)), `${method} ${path}: ${statuses.join(' ')}`);
			t.true(statuses.includes('500') && statuses.includes('503'), `${method} ${path}`);
			t.truthy(operation.description, `${method} ${path} has a description`);
			for (const status of statuses.filter(status => status >= '400')) {
				// A run's 409 is the error shape with `approval` (APPROVAL_PENDING).
				const error = status === '409' && method === 'post' && (path === '/v1/runs' || path.startsWith('/v1/scripts/')) ? 'ApprovalPendingError' : 'Error';
				t.deepEqual(operation.responses[status]!.content['application/json']!.schema, {$ref: `#/components/schemas/${error}`}, `${method} ${path} ${status}`);
			}
		}
	}

	t.deepEqual(Object.keys(document.paths['/v1/tokens/{name}'].delete.responses), ['200', '400', '401', '403', '404', '413', '415', '500', '503']);
	t.deepEqual(Object.keys(document.paths['/healthz'].get.responses), ['200', '500', '503']);
	t.deepEqual(Object.keys(document.paths['/v1/runs'].post.responses), ['200', '202', '400', '401', '403', '409', '413', '415', '500', '502', '503']);
});
