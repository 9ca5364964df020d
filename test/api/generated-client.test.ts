/**
 * A client generated from the live /openapi.json: openapi-typescript (a generator we did not
 * write) turns the document into types, a small client written against those types is compiled
 * by tsc in strict mode, and then revokes a token and a token that does not exist against the real
 * server: the 200 and the typed 404 error are what the types say.
 */
import {execFile} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import test from 'ava';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';
import {call, createToken, startApiFleet} from './api-fleet.js';

const run = promisify(execFile);
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

const client = `import {request} from 'node:https';
import {readFileSync} from 'node:fs';
import type {paths} from './xi-types.js';

type Revoke = paths['/v1/tokens/{name}']['delete'];
type Revoked = Revoke['responses'][200]['content']['application/json'];
type NotFound = Revoke['responses'][404]['content']['application/json'];

function revoke(port: number, ca: string, token: string, name: Revoke['parameters']['path']['name']): Promise<{status: 200; body: Revoked} | {status: 404; body: NotFound}> {
	return new Promise((resolve, reject) => {
		const call = request({host: '127.0.0.1', port, path: '/v1/tokens/' + encodeURIComponent(name), method: 'DELETE', ca: [ca], headers: {authorization: 'Bearer ' + token}}, response => {
			let text = '';
			response.on('data', (chunk: Buffer) => {
				text += chunk.toString('utf8');
			});
			response.on('end', () => {
				const body: unknown = JSON.parse(text);
				if (response.statusCode === 200) {
					resolve({status: 200, body: body as Revoked});
				} else if (response.statusCode === 404) {
					resolve({status: 404, body: body as NotFound});
				} else {
					reject(new Error(String(response.statusCode) + ' ' + text));
				}
			});
		});
		call.on('error', reject);
		call.end();
	});
}

const [port, caFile, token] = process.argv.slice(2);
const ca = readFileSync(caFile!, 'utf8');
const done = await revoke(Number(port), ca, token!, 'victim');
const missing = await revoke(Number(port), ca, token!, 'nosuch');
const revokedName: string = done.status === 200 ? done.body.name : 'not revoked';
const errorCode: string = missing.status === 404 ? missing.body.error.code : 'not 404';
process.stdout.write(JSON.stringify({revokedName, errorCode}) + '\\n');
`;

test('a client generated with openapi-typescript compiles under tsc --strict and gets the typed 200 and 404', async t => {
	const fleet = await startApiFleet([]);
	t.teardown(async () => fleet.close());
	const admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	await createToken(fleet.paths, 'victim', ['hello'], ['all']);
	const document = await call(fleet, 'GET', '/openapi.json', {token: admin});
	t.is(document.status, 200);
	const directory = temporaryDirectory('xi-exec-client-');
	writeFileSync(join(directory, 'openapi.json'), document.text);
	writeFileSync(join(directory, 'client.ts'), client);
	writeFileSync(join(directory, 'ca.pem'), fleet.ca);
	writeFileSync(join(directory, 'package.json'), '{"type": "module"}\n');
	await run(bin('openapi-typescript'), [join(directory, 'openapi.json'), '-o', join(directory, 'xi-types.ts')]);
	const compiled = await run(bin('tsc'), ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(repoRoot, 'node_modules', '@types'), join(directory, 'client.ts')], {cwd: directory}).then(() => '', (error: {stdout: string}) => error.stdout);
	t.is(compiled, '', 'tsc accepts the client');
	const {stdout} = await run(process.execPath, ['--import', 'tsx', join(directory, 'client.ts'), String(fleet.port), join(directory, 'ca.pem'), admin], {cwd: repoRoot});
	t.deepEqual(JSON.parse(stdout), {revokedName: 'victim', errorCode: 'TOKEN_UNKNOWN'});
});
