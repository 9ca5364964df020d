/** `serveCommand`: listens, answers, and stops on Ctrl-C (130) or SIGTERM (0); CORS only for configured origins. */
import {writeFileSync} from 'node:fs';
import test from 'ava';
import {serveCommand} from '../../source/api/serve-command.js';
import {controllerPaths, loadServerCredentials} from '../../source/home.js';
import {createController} from '../helpers/fleet.js';
import {call, createToken, eventually} from './api-fleet.js';

function startServe(home: string, input: Parameters<typeof serveCommand>[1]) {
	let stdout = '';
	let stderr = '';
	let interrupt: (() => void) | undefined;
	const done = serveCommand(controllerPaths(home), input, {
		stdout: text => (stdout += text),
		stderr: text => (stderr += text),
		onInterrupt: handler => (interrupt = handler),
	});
	const port = eventually(async () => {
		const match = /Listening on https:\/\/127\.0\.0\.1:(\d+) /.exec(stdout);
		return match ? Number(match[1]) : undefined;
	}, 'the listening line', 30_000);
	return {done, port, interrupt: () => interrupt!(), output: () => ({stdout, stderr})};
}

test.serial('serve listens with the fleet certificate and stops on Ctrl-C with 130', async t => {
	const home = await createController();
	const server = startServe(home, {listen: '127.0.0.1:0'});
	const port = await Promise.race([server.port, server.done.then(code => {
		throw new Error(`serve ended with ${code}: ${JSON.stringify(server.output())}`);
	})]);
	const fleet = {port, ca: loadServerCredentials(controllerPaths(home)).ca};
	t.deepEqual((await call(fleet, 'GET', '/healthz')).json(), {status: 'ok'});
	const {token} = await createToken(controllerPaths(home), 'admin', ['*'], ['all']);
	t.deepEqual((await call(fleet, 'GET', '/v1/agents', {token})).json(), {agents: []});
	server.interrupt();
	t.is(await server.done, 130);
	await t.throwsAsync(call(fleet, 'GET', '/healthz'), {code: 'ECONNREFUSED'});
	// Every line serve wrote is one JSON object with a level (journald and jq); nothing on stderr.
	const {stdout, stderr} = server.output();
	t.is(stderr, '');
	const lines = stdout.trimEnd().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	for (const line of lines) {
		t.true(['info', 'warn', 'error'].includes(line['level'] as string), JSON.stringify(line));
		t.regex(String(line['ts']), /^\d{4}-\d\d-\d\dT/);
	}

	t.deepEqual(lines.map(line => line['event']), ['listening', 'request', 'request', 'stopping', 'stopped']);
	t.like(lines[0], {level: 'info', url: `https://127.0.0.1:${port}`, openapi: `https://127.0.0.1:${port}/openapi.json`});
	t.like(lines[3], {level: 'info', signal: 'SIGINT'});
});

test.serial('SIGTERM stops it with 0; CORS answers only a configured origin', async t => {
	const home = await createController();
	writeFileSync(controllerPaths(home).config, JSON.stringify({api: {corsOrigins: ['https://dashboard.example']}}));
	const server = startServe(home, {listen: '127.0.0.1:0'});
	const fleet = {port: await server.port, ca: loadServerCredentials(controllerPaths(home)).ca};
	const {token} = await createToken(controllerPaths(home), 'admin', ['*'], ['all']);
	const allowed = await call(fleet, 'GET', '/v1/agents', {token, headers: {origin: 'https://dashboard.example'}});
	t.is(allowed.headers['access-control-allow-origin'], 'https://dashboard.example');
	t.is(allowed.headers.vary, 'Origin');
	const other = await call(fleet, 'GET', '/v1/agents', {token, headers: {origin: 'https://evil.example'}});
	t.is(other.status, 200);
	t.is(other.headers['access-control-allow-origin'], undefined);
	const preflight = await call(fleet, 'OPTIONS', '/v1/runs', {headers: {origin: 'https://dashboard.example', 'access-control-request-method': 'POST'}});
	t.is(preflight.status, 204);
	t.regex(String(preflight.headers['access-control-allow-headers']), /Authorization/);
	const foreignPreflight = await call(fleet, 'OPTIONS', '/v1/runs', {headers: {origin: 'https://evil.example', 'access-control-request-method': 'POST'}});
	t.is(foreignPreflight.status, 401);
	process.emit('SIGTERM');
	t.is(await server.done, 0);
});

test('bad flags and settings are refused before listening', async t => {
	const home = await createController();
	const paths = controllerPaths(home);
	const io = {stdout: () => undefined, stderr: () => undefined, onInterrupt: () => undefined};
	await t.throwsAsync(serveCommand(paths, {listen: 'nowhere'}, io), {message: /--listen "nowhere" is not HOST:PORT/});
	await t.throwsAsync(serveCommand(paths, {cert: '/tmp/cert.pem'}, io), {message: /--cert and --key go together/});
	writeFileSync(paths.config, JSON.stringify({api: {corsOrigins: ['*']}}));
	await t.throwsAsync(serveCommand(paths, {listen: '127.0.0.1:0'}, io), {message: /corsOrigins/});
	await t.throwsAsync(serveCommand(controllerPaths(`${home}-missing`), {}, io), {message: /no fleet CA yet/});
});
