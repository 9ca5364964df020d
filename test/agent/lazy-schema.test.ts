/**
 * The agent loads its schema compiler (Ajv, ~8 MiB resident) only when an allowlist entry has an
 * argument schema: an agent started without one, reloaded with one, checks arguments exactly as
 * before; a schema is never skipped for want of a compiler.
 */
import {randomUUID} from 'node:crypto';
import test from 'ava';
import {agentPaths, readAllowlistFile, writeAllowlistFile} from '../../agent/home.js';
import {loadAllowlist, schemaCompilerFor} from '../../agent/loaded-allowlist.js';
import {ownersFor} from '../../agent/owners.js';
import {compileArgsSchema} from '../../source/protocol/args-schema.js';
import {controllerCredentials, createController, enrolAgent, freePort, logEvents, rawExchange, requestLine, startAgent, waitFor} from '../helpers/fleet.js';

const lowercase = {type: 'array', minItems: 1, maxItems: 1, prefixItems: [{type: 'string', pattern: '^[a-z]+$'}]};
const echo = {path: '/bin/echo', description: 'echo', timeoutSeconds: 30};

test('no schema in the allowlist: no compiler is loaded', async t => {
	t.is(await schemaCompilerFor({scripts: {echo}}), undefined);
	t.is(await schemaCompilerFor({scripts: {}}), undefined);
});

test('a schema in the allowlist: the compiler is loaded and compiles it', async t => {
	const file = {scripts: {echo, strict: {...echo, args: lowercase}}};
	const compile = await schemaCompilerFor(file);
	t.is(compile, compileArgsSchema);
	const loaded = loadAllowlist(file, entry => ownersFor(entry.runAs), compile);
	t.is(loaded.get('strict')?.problem, undefined);
	t.false(loaded.get('strict')!.validate!(['UPPER']));
	t.true(loaded.get('strict')!.validate!(['lower']));
});

test('a schema without a compiler makes its entry unusable, never unchecked', t => {
	const loaded = loadAllowlist({scripts: {echo, strict: {...echo, args: lowercase}}}, entry => ownersFor(entry.runAs), undefined);
	t.is(loaded.get('strict')?.validate, undefined);
	t.is(loaded.get('strict')?.problem, 'its argument schema was not compiled (no schema compiler loaded: a bug, please report it)');
	t.is(loaded.get('echo')?.problem, undefined);
});

test.serial('an agent started without schemas checks a schema added by a reload', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'lazy-schema', port: freePort()});
	const paths = agentPaths(agent.home);
	writeAllowlistFile(paths, {scripts: {echo}});
	const running = await startAgent(agent);
	t.teardown(() => running.stop());
	const credentials = controllerCredentials(controller);
	const run = async (args: string[]) => {
		const reply = await rawExchange(agent.port, {...credentials, send: [requestLine({type: 'run', id: randomUUID(), script: 'echo', args, caller: 'ops'})]});
		const result = reply.frames.find(frame => frame['type'] === 'result');
		return {status: result?.['status'], reason: result?.['reason'], stdout: reply.frames.filter(frame => frame['type'] === 'stdout').map(frame => frame['data'] as string).join('')};
	};

	t.like(await run(['UPPER']), {status: 'ok', stdout: 'UPPER\n'});

	writeAllowlistFile(paths, {scripts: {echo: {...readAllowlistFile(paths).scripts['echo']!, args: lowercase}}});
	const from = running.lines.length;
	running.process.kill('SIGHUP');
	await waitFor(() => logEvents(running, 'allowlist.reloaded', from)[0], 'the agent to reload');

	t.like(await run(['UPPER']), {status: 'denied', reason: 'arguments refused by echo\'s schema: argument #1 must match pattern "^[a-z]+$"'});
	t.like(await run(['lower']), {status: 'ok', stdout: 'lower\n'});
});
