/* eslint-disable @typescript-eslint/no-explicit-any -- the Inspector's JSON is read loosely, as a client would. */
/**
 * The MCP Inspector's CLI mode (`mcp-inspector --cli`, @modelcontextprotocol/inspector), a client
 * we did not write, against both faces over real agents: `xi-exec mcp` started by the Inspector
 * as its stdio server, and /mcp on `xi-exec serve` over Streamable HTTP with the token as a bearer
 * token. It lists the tools and calls one; a call outside the token's scope comes back as a tool
 * error with the reason, and the controller's audit has the Inspector as the client.
 */
import {execFile} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerCli, repoRoot, temporaryDirectory} from '../helpers/fleet.js';
import {createToken, startMcpFleet, type McpFleet} from './mcp-fleet.js';

const inspector = join(repoRoot, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const checkService = {body: '#!/bin/sh\necho "$1 is running"\n', description: 'Whether a service runs', schema: {type: 'array', prefixItems: [{enum: ['nginx', 'postgres']}], minItems: 1, maxItems: 1}, readOnly: true};

let fleet: McpFleet;
let scratch: string;
let caFile: string;

test.before(async () => {
	fleet = await startMcpFleet([
		{name: 'web1', tags: ['env=staging'], scripts: {'check-service': checkService, 'tail-log': {body: '#!/bin/sh\necho "last line"\n'}}},
		{name: 'db1', tags: ['env=production'], scripts: {'check-service': checkService}},
	]);
	scratch = temporaryDirectory('xi-exec-inspector-');
	caFile = join(scratch, 'ca.pem');
	writeFileSync(caFile, fleet.ca);
});

test.after.always(async () => {
	await fleet?.close();
});

type Answer = {code: number | null; stdout: string; stderr: string; json: any};

/** Runs `mcp-inspector --cli ARGS` with its catalog in a temporary directory (nothing written to ~). */
async function inspect(args: string[], env: Record<string, string> = {}): Promise<Answer> {
	return new Promise(resolve => {
		execFile(process.execPath, [inspector, '--cli', '--connect-timeout', '90000', ...args], {
			env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch, MCP_CATALOG_PATH: join(scratch, 'catalog.json'), ...env},
			timeout: 110_000,
			maxBuffer: 16 * 1024 * 1024,
		}, (error, stdout, stderr) => {
			let json: any;
			try {
				json = JSON.parse(stdout);
			} catch {
				json = undefined;
			}

			resolve({code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, json});
		});
	});
}

const stdioTarget = (token: string) => [process.execPath, controllerCli, 'mcp', '-e', `XI_EXEC_HOME=${fleet.home}`, '-e', `XI_EXEC_TOKEN=${token}`];
const httpTarget = (token: string) => [`https://127.0.0.1:${fleet.port}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${token}`];
// The Inspector trusts the fleet's CA the way any Node program can be told to: NODE_EXTRA_CA_CERTS.
const httpEnv = () => ({NODE_EXTRA_CA_CERTS: caFile});

function controllerRecords(): Array<Record<string, any>> {
	return readFileSync(fleet.paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, any>);
}

for (const transport of ['stdio', 'http'] as const) {
	const target = transport === 'stdio' ? stdioTarget : httpTarget;
	const env = transport === 'stdio' ? () => ({}) : httpEnv;

	test(`inspector --cli over ${transport}: tools/list shows the token's scripts and the built-ins`, async t => {
		const token = await createToken(fleet.paths, `inspector-list-${transport}`, ['check-service'], ['env=staging']);
		// --strict: the Inspector checks each tool schema's portability across clients (exit 6 on an error).
		const answer = await inspect([...target(token), '--method', 'tools/list', '--strict'], env());
		t.is(answer.code, 0, answer.stderr);
		t.notRegex(answer.stderr, /Warning|Error:/, answer.stderr);
		const tools = answer.json.tools as any[];
		t.deepEqual(tools.map(tool => tool.name), ['list_agents', 'list_runs', 'get_run', 'cancel_run', 'wait_approval', 'check-service']);
		const check = tools.find(tool => tool.name === 'check-service');
		t.deepEqual(check.inputSchema.required, ['on']);
		t.deepEqual(check.inputSchema.properties.args.prefixItems, [{enum: ['nginx', 'postgres']}]);
		t.like(check.annotations, {readOnlyHint: true});
		t.truthy(check.outputSchema);
		// Only the agent in scope: db1 offers the script too, but is not named; tail-log is not the token's.
		t.notRegex(answer.stdout, /db1|tail-log/);
	});

	test(`inspector --cli over ${transport}: tools/call runs a script and answers with structured content`, async t => {
		const token = await createToken(fleet.paths, `inspector-call-${transport}`, ['check-service'], ['env=staging']);
		const answer = await inspect([...target(token), '--method', 'tools/call', '--tool-name', 'check-service', '--tool-arg', 'on=["web1"]', '--tool-arg', 'args=["nginx"]'], env());
		t.is(answer.code, 0, answer.stderr);
		t.not(answer.json.isError, true, answer.stdout);
		const result = answer.json.structuredContent;
		t.deepEqual(result.results.map((host: any) => [host.agent, host.status, host.exitCode, host.stdout]), [['web1', 'ok', 0, 'nginx is running\n']]);
		t.regex(answer.json.content[0].text, new RegExp(`^check-service: 1 ok\\. Request ${result.requestId}\\.`));
		// The controller's records name the Inspector as the client.
		const call = controllerRecords().find(record => record['event'] === 'mcp.call' && record['requestId'] === result.requestId);
		t.like(call, {caller: `mcp:inspector-call-${transport}`, tool: 'check-service', outcome: 'ok', transport});
		t.regex(call?.['client'] as string, new RegExp(`inspector.* over ${transport}$`, 'i'));
	});

	test(`inspector --cli over ${transport}: a call outside the scope is a tool error with the reason`, async t => {
		const token = await createToken(fleet.paths, `inspector-outside-${transport}`, ['check-service'], ['env=staging']);
		const answer = await inspect([...target(token), '--method', 'tools/call', '--tool-name', 'check-service', '--tool-arg', 'on=["db1"]', '--tool-arg', 'args=["nginx"]'], env());
		t.true(answer.json?.isError, `${answer.stdout}\n${answer.stderr}`);
		t.is(answer.json.content[0].text, `OUT_OF_SCOPE: Refused before running anything: token inspector-outside-${transport} may not reach db1 (its scope is --on env=staging).`);
	});
}

test('inspector --cli: xi-exec mcp without a token does not start, and says why', async t => {
	const answer = await inspect([process.execPath, controllerCli, 'mcp', '-e', `XI_EXEC_HOME=${fleet.home}`, '--method', 'tools/list']);
	t.not(answer.code, 0);
	// The server's own refusal reaches the Inspector's stderr; no session, no tools.
	t.true(answer.stderr.includes('xi-exec mcp needs a token, so that an AI agent is always a named, scoped caller'), answer.stderr);
	t.regex(answer.stderr, /"Connection closed"/);
	t.notRegex(answer.stdout, /tools/);
});

test('inspector --cli over http: a wrong bearer token is refused before any session', async t => {
	const answer = await inspect([...httpTarget('xi_not_a_token'), '--method', 'tools/list'], httpEnv());
	t.not(answer.code, 0);
	// The 401 is read by the Inspector as "authorisation needed" (it would start OAuth, which needs a terminal here).
	t.regex(answer.stdout + answer.stderr, /"code":"auth_required"/);
	t.notRegex(answer.stdout, /list_agents/);
});
