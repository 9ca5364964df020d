/**
 * Pairing between real processes through both built CLIs in JSON mode (`xi-exec pair --listen
 * ADDR --json` reading `approve`/`reject` lines on stdin, `xi-exec-agent pair --controller ADDR
 * --ca-sha256 HASH --json`): the whole ceremony, ending with the agent in `xi-exec agents` and
 * serving a run right after `xi-exec-agent start`; re-pairing; either side killed mid-ceremony;
 * and `pair` with neither a terminal nor --ca-sha256.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {readTextFile} from '../../source/io/files.js';
import {codeHash} from '../../source/pairing/code.js';
import {addAgent, findAgent} from '../../source/registry/model.js';
import {certificateSha256, normaliseSerial, x509} from '../../source/pki/index.js';
import {agentCli, controllerCli, createController, freePort, installScript, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';
import {spawnJsonCli, storedCredentials, type CliProcess} from '../helpers/pairing-peers.js';

type Pairing = {controllerHome: string; caSha256: string; controller: CliProcess; address: string};

async function openController(t: {teardown: (fn: () => void) => void}, flags: string[] = []): Promise<Pairing> {
	const controllerHome = await createController();
	const fingerprint = await runCli(controllerCli, ['ca', 'fingerprint'], {XI_EXEC_HOME: controllerHome});
	const caSha256 = fingerprint.stdout.trim();
	const controller = spawnJsonCli(controllerCli, ['pair', '--listen', '127.0.0.1:0', '--json', ...flags], {XI_EXEC_HOME: controllerHome}, 'pipe');
	t.teardown(() => controller.child.kill('SIGKILL'));
	const listening = await controller.event('listening');
	return {controllerHome, caSha256, controller, address: listening['address'] as string};
}

async function initAgentHome(name: string, port: number, ...extra: string[][]): Promise<string> {
	const home = join(temporaryDirectory(), name);
	const init = await runCli(agentCli, ['init', '--name', name, '--listen', `127.0.0.1:${port}`, '--tag', 'site=london', '--tag', 'role=web'], {XI_EXEC_AGENT_HOME: home});
	if (init.code !== 0) {
		throw new Error(`init failed: ${init.stderr}`);
	}

	for (const args of extra) {
		const result = await runCli(agentCli, args, {XI_EXEC_AGENT_HOME: home});
		if (result.code !== 0) {
			throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
		}
	}

	return home;
}

/** The controller's audit records about pairing, in order (read after `xi-exec pair` exited). */
function pairingAudit(controllerHome: string): Array<Record<string, unknown>> {
	return readFileSync(controllerPaths(controllerHome).auditLog, 'utf8').split('\n').filter(Boolean)
		.map(line => JSON.parse(line) as Record<string, unknown>)
		.filter(record => String(record['event']).startsWith('pairing.'));
}

function pairAgentCli(t: {teardown: (fn: () => void) => void}, home: string, pairing: Pairing): CliProcess {
	const agent = spawnJsonCli(agentCli, ['pair', '--controller', pairing.address, '--ca-sha256', pairing.caSha256, '--json'], {XI_EXEC_AGENT_HOME: home});
	t.teardown(() => agent.child.kill('SIGKILL'));
	return agent;
}

test('the whole ceremony through both CLIs; the new agent is listed, and serves a run right after start', async t => {
	const pairing = await openController(t);
	const {controller} = pairing;
	const port = freePort();
	const script = installScript('hello', '#!/bin/sh\necho "hello from $XI_EXEC_SCRIPT"\n');
	const home = await initAgentHome('web1', port, ['allow', 'hello', script, '--description', 'says hello']);
	t.deepEqual(storedCredentials(home), []);
	const agent = pairAgentCli(t, home, pairing);

	const shown = await agent.event('code');
	const code = shown['code'] as string;
	t.regex(code, /^\d{6}$/);
	t.deepEqual(shown, {event: 'code', agent: 'web1', code, ca: pairing.caSha256, ceremony: shown['ceremony']});

	const request = await controller.event('request');
	const ceremony = shown['ceremony'] as string;
	t.deepEqual(request, {event: 'request', ceremony, agent: 'web1', address: `127.0.0.1:${port}`, source: '127.0.0.1', tags: {site: 'london', role: 'web'}, fingerprint: request['fingerprint'], expires: request['expires']});
	t.regex(request['fingerprint'] as string, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

	// A wrong code first: the controller says only "does not match".
	const wrong = code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
	controller.write(`approve web1 ${wrong}`);
	t.deepEqual(await controller.event('approve'), {event: 'approve', agent: 'web1', match: false, reason: 'does not match (2 tries left)'});
	t.deepEqual(await controller.event('wrong-code'), {event: 'wrong-code', agent: 'web1', ceremony, triesLeft: 2, codeHash: codeHash(ceremony, wrong)});

	controller.write(`approve web1 ${code.slice(0, 3)} ${code.slice(3)}`);
	const approve = await controller.lines.find(line => line['event'] === 'approve' && line['match'] === true);
	t.deepEqual(approve, {event: 'approve', agent: 'web1', match: true});
	const controllerPaired = await controller.event('paired');
	const agentPaired = await agent.event('paired');
	t.is((await agent.exit).code, 0);

	// What the agent stored is what the controller registered.
	const paths = agentPaths(home);
	t.deepEqual(storedCredentials(home).sort(), ['agent.key', 'agent.pem', 'ca.pem', 'pins.json']);
	const certificate = new x509.X509Certificate(readTextFile(paths.cert, 'cert'));
	const serial = normaliseSerial(certificate.serialNumber);
	const controllerCertificate = new x509.X509Certificate(readTextFile(controllerPaths(pairing.controllerHome).controllerCert, 'controller cert'));
	t.deepEqual(agentPaired, {event: 'paired', agent: 'web1', serial, controllerSerial: normaliseSerial(controllerCertificate.serialNumber), ca: pairing.caSha256});
	t.deepEqual(controllerPaired, {event: 'paired', agent: 'web1', ceremony, serial, address: `127.0.0.1:${port}`, tags: {site: 'london', role: 'web'}});
	t.deepEqual(JSON.parse(readTextFile(paths.pins, 'pins')), {caSha256: pairing.caSha256, controllerSerials: [normaliseSerial(controllerCertificate.serialNumber)]});
	t.is(readTextFile(paths.ca, 'ca'), readTextFile(controllerPaths(pairing.controllerHome).caCert, 'ca'));
	const record = findAgent(await openControllerRegistry(controllerPaths(pairing.controllerHome)).read(), 'web1');
	t.like(record, {name: 'web1', address: `127.0.0.1:${port}`, tags: {site: 'london', role: 'web'}, serial, fingerprint: certificateSha256(certificate)});

	// The controller never printed the code, only hashes of it.
	t.false(controller.lines.all.some(line => Object.values(line).includes(code) || 'code' in line));

	controller.child.kill('SIGINT');
	t.is((await controller.exit).code, 130);

	// Every step is in the controller's audit log, with a hash of each code typed and never a code.
	const audit = pairingAudit(pairing.controllerHome);
	t.deepEqual(audit.map(record => record['event']), ['pairing.listening', 'pairing.request', 'pairing.wrong-code', 'pairing.approved', 'pairing.paired']);
	t.like(audit[2], {ceremony, agent: 'web1', codeHash: codeHash(ceremony, wrong), triesLeft: 2});
	t.like(audit[3], {ceremony, agent: 'web1', serial, codeHash: codeHash(ceremony, code)});
	t.like(audit[4], {ceremony, agent: 'web1', serial, address: `127.0.0.1:${port}`});
	const auditText = readFileSync(controllerPaths(pairing.controllerHome).auditLog, 'utf8');
	t.false(auditText.includes(`"${code}"`) || auditText.includes(`"${wrong}"`));

	const running = await startAgent({name: 'web1', home, port});
	t.teardown(running.stop);
	const agents = await runCli(controllerCli, ['agents', '--json'], {XI_EXEC_HOME: pairing.controllerHome});
	t.is(agents.code, 0, agents.stderr);
	const listed = (JSON.parse(agents.stdout) as {agents: Array<Record<string, unknown>>}).agents;
	t.like(listed, [{name: 'web1', address: `127.0.0.1:${port}`, tags: {site: 'london', role: 'web'}, status: 'reachable', scripts: [{name: 'hello', description: 'says hello'}]}]);

	const run = await runCli(controllerCli, ['run', 'hello', '--on', 'web1', '--json'], {XI_EXEC_HOME: pairing.controllerHome});
	t.is(run.code, 0, run.stderr);
	const document = JSON.parse(run.stdout) as {results: Array<Record<string, unknown>>};
	t.like(document.results, [{agent: 'web1', status: 'ok', exitCode: 0, stdout: 'hello from hello\n'}]);
});

test('re-pairing a name: refused without --replace, accepted with it', async t => {
	const port = freePort();
	const setUp = await openController(t);
	setUp.controller.child.kill('SIGKILL');
	await setUp.controller.exit;
	await openControllerRegistry(controllerPaths(setUp.controllerHome)).update(registry => addAgent(registry, {name: 'web1', address: '10.0.0.9:7441', tags: {}, serial: 'aa01', fingerprint: 'f'.repeat(64), certificateExpires: '2027-01-01T00:00:00.000Z', pairedAt: '2026-01-01T00:00:00.000Z'}));

	for (const replace of [false, true]) {
		const controller = spawnJsonCli(controllerCli, ['pair', '--listen', '127.0.0.1:0', '--json', ...(replace ? ['--replace'] : [])], {XI_EXEC_HOME: setUp.controllerHome}, 'pipe');
		t.teardown(() => controller.child.kill('SIGKILL'));
		const pairing = {...setUp, controller, address: (await controller.event('listening'))['address'] as string};
		const home = await initAgentHome('web1', port);
		const agent = pairAgentCli(t, home, pairing);
		if (replace) {
			const code = (await agent.event('code'))['code'] as string;
			controller.write(`approve web1 ${code}`);
			t.is((await agent.exit).code, 0);
			const serial = (await controller.event('paired'))['serial'];
			t.like(findAgent(await openControllerRegistry(controllerPaths(setUp.controllerHome)).read(), 'web1'), {serial, address: `127.0.0.1:${port}`});
		} else {
			const reason = 'web1 is already paired; unpair it, or run `xi-exec pair --replace` to pair it again';
			t.like(await controller.event('refused'), {agent: 'web1', reason});
			t.like(await agent.event('refused'), {agent: 'web1', reason: `refused by the controller: ${reason}`});
			t.is((await agent.exit).code, 1);
			t.deepEqual(storedCredentials(home), []);
			t.like(findAgent(await openControllerRegistry(controllerPaths(setUp.controllerHome)).read(), 'web1'), {serial: 'aa01'});
		}

		controller.child.kill('SIGINT');
		t.is((await controller.exit).code, 130);
	}

	const refusals = pairingAudit(setUp.controllerHome).filter(record => record['event'] === 'pairing.refused');
	t.like(refusals, [{agent: 'web1', reason: 'web1 is already paired; unpair it, or run `xi-exec pair --replace` to pair it again'}]);
	t.is(pairingAudit(setUp.controllerHome).filter(record => record['event'] === 'pairing.paired').length, 1);
});

test('the agent killed mid-ceremony: the controller refuses it as disconnected, and nothing is stored', async t => {
	const pairing = await openController(t);
	const home = await initAgentHome('web1', freePort());
	const agent = pairAgentCli(t, home, pairing);
	const code = (await agent.event('code'))['code'] as string;
	const request = await pairing.controller.event('request');
	agent.child.kill('SIGKILL');
	t.is((await agent.exit).signal, 'SIGKILL');

	t.deepEqual(await pairing.controller.event('refused'), {event: 'refused', agent: 'web1', ceremony: request['ceremony'], source: '127.0.0.1', reason: 'the agent disconnected'});
	pairing.controller.write(`approve web1 ${code}`);
	t.deepEqual(await pairing.controller.event('approve'), {event: 'approve', agent: 'web1', match: false, reason: 'no pairing request from web1 is waiting for approval'});
	t.deepEqual(storedCredentials(home), []);
	t.deepEqual((await openControllerRegistry(controllerPaths(pairing.controllerHome)).read()).agents, []);
	pairing.controller.child.kill('SIGINT');
	t.is((await pairing.controller.exit).code, 130);
	t.like(pairingAudit(pairing.controllerHome).find(record => record['event'] === 'pairing.refused'), {ceremony: request['ceremony'], agent: 'web1', reason: 'the agent disconnected'});
});

const controllerEndings: Array<{title: string; signal: NodeJS.Signals; reason: string}> = [
	{title: 'killed', signal: 'SIGKILL', reason: 'the controller closed the connection'},
	{title: 'stopped with Ctrl-C', signal: 'SIGINT', reason: 'refused by the controller: the pairing listener was closed'},
];

for (const ending of controllerEndings) {
	test(`the controller ${ending.title} mid-ceremony: the agent is refused and stores nothing`, async t => {
		const pairing = await openController(t);
		const home = await initAgentHome('web1', freePort());
		const agent = pairAgentCli(t, home, pairing);
		await agent.event('code');
		await pairing.controller.event('request');
		pairing.controller.child.kill(ending.signal);

		const exit = await agent.exit;
		t.is(exit.code, 1, exit.stderr);
		t.deepEqual(await agent.event('refused'), {event: 'refused', agent: 'web1', reason: ending.reason});
		t.deepEqual(storedCredentials(home), []);
		t.deepEqual((await openControllerRegistry(controllerPaths(pairing.controllerHome)).read()).agents, []);
	});
}

test('`xi-exec-agent pair` with no terminal and no --ca-sha256 exits 2 at once', async t => {
	const home = await initAgentHome('web1', freePort());
	// Nothing listens on this port: an agent that tried to connect first would fail with exit 1
	// and "cannot reach"; the refusal must come before that.
	const result = await runCli(agentCli, ['pair', '--controller', `127.0.0.1:${freePort()}`, '--json'], {XI_EXEC_AGENT_HOME: home});
	// Under --json the refusal is JSON on stdout, like everything else there.
	t.is(result.code, 2);
	t.is(result.stderr, '');
	t.like(JSON.parse(result.stdout), {error: {code: 'USAGE', message: 'pair needs a terminal to confirm the controller, or --ca-sha256 HASH (printed by `xi-exec ca fingerprint` on the controller) to pin its CA.'}});
	t.deepEqual(storedCredentials(home), []);
});
