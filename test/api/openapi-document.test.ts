/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/** The document builder alone: a synthetic fleet's scripts, checked by a real OpenAPI validator. */
import test from 'ava';
import {compileErrors, validate} from '@readme/openapi-parser';
import {buildOpenApiDocument} from '../../source/api/openapi.js';
import {routes} from '../../source/api/routes.js';
import {buildCatalog} from '../../source/core/script-catalog.js';
import type {Discovered} from '../../source/dispatch/discover.js';

const agent = (name: string, scripts: Discovered['scripts']): Discovered => ({name, address: '127.0.0.1:1', status: 'reachable', scripts});

test('names that fold to one operation id stay unique; many agents are summarised; the document validates', async t => {
	const many = Array.from({length: 14}, (_, index) => agent(`web${index + 1}`, [{name: 'a-b', description: 'Dash', timeoutSeconds: 5}]));
	const document = buildOpenApiDocument({
		version: '9.9.9',
		routes,
		catalog: buildCatalog([
			...many,
			agent('db1', [
				{name: 'a_b', description: 'Underscore', timeoutSeconds: 5, args: {type: 'array', prefixItems: [{enum: ['start', 'stop']}], minItems: 1, items: false}},
				{name: 'a.b', description: '', timeoutSeconds: 5},
			]),
		]),
	}) as any;
	const ids = Object.values(document.paths).flatMap((item: any) => Object.values(item).map((operation: any) => operation.operationId));
	t.is(new Set(ids).size, ids.length);
	t.deepEqual(['a-b', 'a_b', 'a.b'].map(name => document.paths[`/v1/scripts/${name}`].post.operationId).sort(), ['runScript_a_b', 'runScript_a_b_2', 'runScript_a_b_3']);
	t.is(document.paths['/v1/scripts/a.b'].post.summary, 'Run a.b');
	t.regex(document.paths['/v1/scripts/a-b'].post.description, /On: web1, web2, .*, web10 and 4 more \(time limit 5 s\)/);
	t.is(document.info.version, '9.9.9');
	const result = await validate(document);
	t.true(result.valid, result.valid ? '' : compileErrors(result));
});

test('every route of the table is in the document with its access, except the parameterised script route', t => {
	const document = buildOpenApiDocument({version: '1', routes, catalog: {scripts: [], problems: []}}) as any;
	for (const route of routes) {
		const path = route.url.replaceAll(/:([a-z]+)/gi, '{$1}');
		if (route.url === '/v1/scripts/:script') {
			t.is(document.paths[path], undefined);
			continue;
		}

		const operation = document.paths[path][route.method.toLowerCase()];
		t.is(operation.operationId, route.operationId);
		t.deepEqual(operation.security, route.access === 'public' ? [] : (route.access === 'agent' ? [{agentCertificate: []}] : undefined), route.url);
	}
});
