/**
 * Secret arguments over a real controller and agent: the script's schema marks its second
 * argument `"secret": true`. The script still receives the value; everywhere else it appears only
 * as `secret:sha256:HEX` — both audit logs, the run history, the syslog payloads of both sides,
 * `run --json`, plain output, a dry run, `audit --json`, `runs show`, the REST API — including a policy
 * denial whose reason quotes the argument. Checked by searching every file under both homes and
 * every captured output for the marker values.
 */
import {randomBytes} from 'node:crypto';
import {createSocket} from 'node:dgram';
import type {AddressInfo} from 'node:net';
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {allowScript} from '../../agent/commands.js';
import {agentPaths} from '../../agent/home.js';
import {hashSecret} from '../../source/protocol/secret-args.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, repoRoot, runCli, spawnCli, startAgent, temporaryDirectory, waitFor} from '../helpers/fleet.js';
import {call} from '../api/api-fleet.js';

function filesUnder(directory: string): string[] {
	return readdirSync(directory).flatMap(name => {
		const path = join(directory, name);
		return statSync(path).isDirectory() ? filesUnder(path) : [path];
	});
}

test('a secret argument reaches the script and is kept and shown nowhere in clear', async t => {
	const payloads: string[] = [];
	const collector = createSocket('udp4');
	collector.on('message', message => payloads.push(message.toString('utf8')));
	await new Promise<void>(resolve => collector.bind(0, '127.0.0.1', resolve));
	t.teardown(() => collector.close());
	const syslog = `udp://127.0.0.1:${(collector.address() as AddressInfo).port}`;

	const controller = await createController();
	writeFileSync(join(controller, 'config.json'), JSON.stringify({syslog}));
	const agent = await enrolAgent(controller, {name: 'vault1', port: freePort()});
	const paths = agentPaths(agent.home);
	const received = temporaryDirectory('xi-exec-received-');
	const script = installScript('set-password', `#!/bin/sh\nprintf '%s' "$2" > "${received}/got-$1"\necho "user $1: password of \${#2} characters set"\n`);
	allowScript(paths, 'set-password', script, {description: 'sets a password', schema: JSON.stringify({type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, items: false})});
	writeFileSync(join(agent.home, 'policy.json'), JSON.stringify({rules: [
		{name: 'strong only', effect: 'allow', callers: ['*'], scripts: ['set-password'], args: {positions: [{}, {pattern: '^S3cr3t-[a-z0-9]+$'}]}},
	]}));
	const config = JSON.parse(readFileSync(paths.config, 'utf8')) as Record<string, unknown>;
	writeFileSync(paths.config, JSON.stringify({...config, syslog, hook: join(repoRoot, 'dist/agent/hooks/local-policy.js'), hookInterpreter: process.execPath, hookTimeoutMs: 30_000}));
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());

	const marker = `S3cr3t-${randomBytes(8).toString('hex')}`;
	const weak = `weak-${randomBytes(8).toString('hex')}`;
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const cli = async (...args: string[]) => runCli(controllerCli, args, env);

	const json = await cli('run', 'set-password', '--on', 'vault1', '--json', '--', 'alice', marker);
	t.is(json.code, 0, json.stderr + json.stdout);
	const document = JSON.parse(json.stdout) as {requestId: string; args: string[]; results: Array<{stdout: string}>};
	t.deepEqual(document.args, ['alice', hashSecret(marker)]);
	t.is(document.results[0]!.stdout, `user alice: password of ${marker.length} characters set\n`);
	t.is(readFileSync(join(received, 'got-alice'), 'utf8'), marker, 'the script received the real value');

	const plain = await cli('run', 'set-password', '--on', 'vault1', '--', 'bob', marker);
	t.is(plain.code, 0, plain.stderr + plain.stdout);
	t.is(readFileSync(join(received, 'got-bob'), 'utf8'), marker);

	const denied = await cli('run', 'set-password', '--on', 'vault1', '--json', '--', 'carol', weak);
	t.is(denied.code, 1);
	const deniedResult = (JSON.parse(denied.stdout) as {results: Array<{status: string; reason: string}>}).results[0]!;
	t.is(deniedResult.status, 'denied');
	t.is(deniedResult.reason, `rule "strong only" does not allow it: argument 2 "${hashSecret(weak)}" does not match ^S3cr3t-[a-z0-9]+$`, 'the policy\'s reason quotes the hash, not the value');

	const dry = await cli('run', 'set-password', '--on', 'vault1', '--dry-run', '--json', '--', 'dave', marker);
	t.is(dry.code, 0, dry.stderr + dry.stdout);
	t.deepEqual((JSON.parse(dry.stdout) as {args: string[]}).args, ['dave', hashSecret(marker)]);

	const rerun = await cli('run', '--rerun', document.requestId);
	t.is(rerun.code, 2);
	t.regex(rerun.stderr, /had secret arguments, which are kept only as hashes; run set-password again with its arguments and --on/);

	// The REST API: a run through `xi-exec serve`, its answer and the stored run.
	const serve = spawnCli(controllerCli, ['serve', '--listen', '127.0.0.1:0'], env);
	t.teardown(() => {
		serve.child.kill('SIGTERM');
	});
	const port = Number(await waitFor(() => /Listening on https:\/\/127\.0\.0\.1:(\d+) /.exec(serve.output().stdout)?.[1], 'xi-exec serve to listen', {state: () => serve.output()}));
	const api = {port, ca: readFileSync(join(controller, 'ca.pem'), 'utf8')};
	const admin = (JSON.parse((await cli('token', 'create', '--name', 'admin', '--scripts', '*', '--on', 'all', '--json')).stdout) as {token: string}).token;
	const posted = await call(api, 'POST', '/v1/runs', {token: admin, body: {script: 'set-password', args: ['erin', marker], on: ['vault1']}});
	t.is(posted.status, 200, posted.text);
	t.is(readFileSync(join(received, 'got-erin'), 'utf8'), marker);
	const stored = await call(api, 'GET', `/v1/runs/${(posted.json() as {requestId: string}).requestId}`, {token: admin});
	t.is(stored.status, 200, stored.text);
	const stopped = new Promise(resolve => serve.child.once('exit', resolve));
	serve.child.kill('SIGTERM');
	await stopped;

	const audit = await cli('audit', '--json');
	const history = await cli('runs', 'show', document.requestId, '--json');
	t.is(history.code, 0, history.stderr);
	t.deepEqual((JSON.parse(history.stdout) as {args: string[]}).args, ['alice', hashSecret(marker)]);
	await waitFor(() => (payloads.some(payload => payload.includes('run.finish')) && payloads.some(payload => payload.includes('run.outcome')) ? true : undefined), 'both sides\' syslog records', {state: () => payloads.length});
	await running.stop();

	const controllerAudit = readFileSync(join(controller, 'audit', 'controller.jsonl'), 'utf8');
	const agentAudit = readFileSync(paths.auditLog, 'utf8');
	const historyFile = readFileSync(filesUnder(join(controller, 'runs')).find(path => path.includes(document.requestId))!, 'utf8');
	const places: Array<[string, string, boolean]> = [
		// Where, what it holds, whether the hash must be there (where arguments are shown at all).
		['audit controller', controllerAudit, true],
		['audit agent', agentAudit, true],
		['history', historyFile, true],
		['syslog payload (controller)', payloads.filter(payload => payload.includes('run.request')).join('\n'), true],
		['syslog payload (agent)', payloads.filter(payload => payload.includes('request.received')).join('\n'), true],
		['CLI --json', json.stdout + json.stderr, true],
		['CLI plain', plain.stdout + plain.stderr, false],
		['CLI --dry-run --json', dry.stdout + dry.stderr, true],
		['CLI denied run', denied.stdout + denied.stderr, false],
		['xi-exec audit --json', audit.stdout, true],
		['xi-exec runs show --json', history.stdout, true],
		['agent log lines', running.lines.join('\n'), true],
		['REST API run and stored run', posted.text + stored.text, true],
		['xi-exec serve output', serve.output().stdout + serve.output().stderr, false],
	];
	for (const [where, text, showsArgs] of places) {
		t.true(text.length > 0, `${where} was captured`);
		t.false(text.includes(marker), `${where} holds the secret in clear`);
		t.false(text.includes(weak), `${where} holds the denied secret in clear`);
		t.is(text.includes(hashSecret(marker)), showsArgs, `${where} shows the hash`);
	}

	t.true(agentAudit.includes(hashSecret(weak)), 'the denial is recorded with the hash');
	for (const file of [...filesUnder(controller), ...filesUnder(agent.home)]) {
		const bytes = readFileSync(file);
		t.false(bytes.includes(marker) || bytes.includes(weak), `${file} holds a secret in clear`);
	}
});
