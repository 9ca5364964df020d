/**
 * Pairing a device behind NAT end to end, through the built CLIs and a real nats-server that
 * `xi-exec relay cert|config` set up: `xi-exec-agent init --listen none --relay URL` (no port at
 * all), the ceremony with `xi-exec pair --transport nats --relay URL`, the registry record, the
 * broker's configuration gaining the agent's user and the running broker reloaded (nats-server's
 * own log says so), a run over the relay, its cancel from a second controller process, a renewal and a controller rotation answered over the
 * relay; then `xi-exec unpair`, told over the relay, which takes the user away again: the agent's
 * live connection drops and runs are refused.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {agentPaths, readAgentConfig} from '../../agent/home.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {findAgent} from '../../source/registry/model.js';
import {agentCli, controllerCli, createController, freePort, installFixture, runCli, spawnCli, startAgent, temporaryDirectory, type RunningAgent} from '../helpers/fleet.js';
import {natsServerMissing} from '../helpers/nats-broker.js';
import {spawnJsonCli} from '../helpers/pairing-peers.js';

const missing = natsServerMissing();
if (missing) {
	console.log(`relay pairing tests skipped: ${missing}`);
}

const waitFor = async (what: string, condition: () => boolean, limitMs = 30_000) => {
	const started = Date.now();
	while (!condition()) {
		if (Date.now() - started > limitMs) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await delay(20);
	}
};

type Broker = {url: string; directory: string; log: () => string; reloads: () => number; stop: () => Promise<void>};

/** The broker as an operator sets it up: `relay cert`, `relay config`, then nats-server with that file. */
async function setUpBroker(controllerHome: string): Promise<Broker> {
	const directory = join(temporaryDirectory('xi-exec-broker-'), 'broker');
	const port = freePort();
	const cert = await runCli(controllerCli, ['relay', 'cert', '--dir', directory, '--host', '127.0.0.1'], {XI_EXEC_HOME: controllerHome});
	const config = await runCli(controllerCli, ['relay', 'config', '--dir', directory, '--listen', `127.0.0.1:${port}`], {XI_EXEC_HOME: controllerHome});
	if (cert.code !== 0 || config.code !== 0) {
		throw new Error(`relay cert/config failed: ${cert.stderr}${config.stderr}`);
	}

	const child: ChildProcess = spawn('nats-server', ['-c', join(directory, 'nats-server.conf')], {stdio: ['ignore', 'pipe', 'pipe']});
	let log = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	child.stderr!.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	await waitFor('nats-server to be ready', () => {
		if (child.exitCode !== null) {
			throw new Error(`nats-server exited: ${log}`);
		}

		return log.includes('Server is ready');
	});
	return {
		url: `nats://127.0.0.1:${port}`,
		directory,
		log: () => log,
		reloads: () => log.split('Reloaded server configuration').length - 1,
		async stop() {
			if (child.exitCode === null) {
				const exited = new Promise(resolve => child.once('exit', resolve));
				child.kill('SIGTERM');
				await exited;
			}
		},
	};
}

test('a NAT device pairs with --transport nats: its broker user is added and the broker reloaded; unpair takes it away', async t => {
	if (missing) {
		t.log(`skipped: ${missing}`);
		t.pass();
		return;
	}

	const controllerHome = await createController();
	const broker = await setUpBroker(controllerHome);
	const running: RunningAgent[] = [];
	t.teardown(async () => {
		await Promise.all(running.map(async agent => agent.stop()));
		await broker.stop();
	});
	t.notRegex(readFileSync(join(broker.directory, 'nats-server.conf'), 'utf8'), /xi-exec:agent\/kiosk7/);

	// The device: no port at all, the broker it dials out to.
	const home = join(temporaryDirectory(), 'kiosk7');
	const init = await runCli(agentCli, ['init', '--name', 'kiosk7', '--listen', 'none', '--relay', broker.url, '--tag', 'site=mall'], {XI_EXEC_AGENT_HOME: home});
	t.is(init.code, 0, init.stderr);
	t.is((await runCli(agentCli, ['allow', 'hello', installFixture('hello.sh')], {XI_EXEC_AGENT_HOME: home})).code, 0);
	t.is((await runCli(agentCli, ['allow', 'sleep-long', installFixture('sleep-long.sh')], {XI_EXEC_AGENT_HOME: home})).code, 0);

	const caSha256 = (await runCli(controllerCli, ['ca', 'fingerprint'], {XI_EXEC_HOME: controllerHome})).stdout.trim();
	const controller = spawnJsonCli(controllerCli, ['pair', '--listen', '127.0.0.1:0', '--transport', 'nats', '--relay', broker.url, '--json'], {XI_EXEC_HOME: controllerHome}, 'pipe');
	t.teardown(() => controller.child.kill('SIGKILL'));
	const address = (await controller.event('listening'))['address'] as string;
	const agent = spawnJsonCli(agentCli, ['pair', '--controller', address, '--ca-sha256', caSha256, '--json'], {XI_EXEC_AGENT_HOME: home});
	t.teardown(() => agent.child.kill('SIGKILL'));
	const {code} = await agent.event('code') as {code: string};
	const request = await controller.event('request');
	t.like(request, {agent: 'kiosk7', address: 'none', transport: 'nats', relay: broker.url});

	const reloadsBefore = broker.reloads();
	controller.write(`approve kiosk7 ${code}`);
	t.like(await controller.event('paired'), {agent: 'kiosk7', address: 'none', transport: 'nats', relay: broker.url});
	t.like(await agent.event('paired'), {agent: 'kiosk7', relay: broker.url});
	const refreshed = await controller.event('broker');
	t.like(refreshed, {event: 'broker', agent: 'kiosk7', ok: true});
	t.regex(refreshed['message'] as string, /users for kiosk7\. The broker running here was asked to reload it \(SIGHUP\)\./);
	await waitFor('nats-server to reload', () => broker.reloads() > reloadsBefore);
	t.regex(readFileSync(join(broker.directory, 'nats-server.conf'), 'utf8'), /\{user: "xi-exec:agent\/kiosk7", permissions: \{publish: \{allow: \["xi\.r\.kiosk7\.\*", "xi\.p\.kiosk7"\]\}, subscribe: \{allow: \["xi\.a\.kiosk7\.req"\]\}\}\}/);
	const record = findAgent(await openControllerRegistry(controllerPaths(controllerHome)).read(), 'kiosk7');
	t.like(record, {name: 'kiosk7', address: 'none', transport: 'nats', relay: broker.url, tags: {site: 'mall'}});
	t.is(readAgentConfig(agentPaths(home)).relay, broker.url);
	controller.child.kill('SIGINT');
	t.is((await controller.exit).code, 130);
	const auditText = readFileSync(controllerPaths(controllerHome).auditLog, 'utf8');
	t.regex(auditText, /"event":"pairing\.paired".*"relay":"nats:\/\/127\.0\.0\.1:\d+".*"transport":"nats"/);
	t.regex(auditText, /"agents":\["kiosk7"\].*"event":"relay\.config".*"reload":"reloaded"/);

	// It runs over the broker, with no port of its own.
	const started = await startAgent({name: 'kiosk7', home, port: 0});
	running.push(started);
	await waitFor('kiosk7 to hold its subscription', () => started.lines.some(line => line.includes('"event":"relay.connected"')));
	const ran = await runCli(controllerCli, ['run', 'hello', '--on', 'kiosk7', '--json'], {XI_EXEC_HOME: controllerHome});
	t.is(ran.code, 0, ran.stderr);
	t.like(JSON.parse(ran.stdout), {results: [{agent: 'kiosk7', status: 'ok'}]});

	// Cancelled from another controller process: its envelope's sequence is above the run's although that process never saw it.
	const agentAudit = () => readFileSync(agentPaths(home).auditLog, 'utf8');
	const records = (event: string) => agentAudit().trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(item => item['event'] === event);
	const long = spawnCli(controllerCli, ['run', 'sleep-long', '--on', 'kiosk7', '--json'], {XI_EXEC_HOME: controllerHome});
	await waitFor('the long script to start', () => records('run.start').some(item => item['script'] === 'sleep-long'));
	const runId = String(records('run.start').find(item => item['script'] === 'sleep-long')!['requestId']);
	const cancelled = await runCli(controllerCli, ['cancel', runId], {XI_EXEC_HOME: controllerHome});
	t.is(cancelled.code, 0, cancelled.stdout + cancelled.stderr);
	const longEnded = await long.done;
	t.like(JSON.parse(longEnded.stdout), {results: [{agent: 'kiosk7', status: 'cancelled'}]});
	t.like(records('cancel').find(item => item['requestId'] === runId), {source: 'relay', found: true});
	t.false(records('relay.refused').some(item => item['requestId'] === runId));

	// Renewed over the relay: a new key on the device, the new certificate in the registry, and replies signed with it.
	const serialBefore = record!.serial;
	const renewed = await runCli(controllerCli, ['renew', '--on', 'kiosk7', '--json'], {XI_EXEC_HOME: controllerHome});
	t.is(renewed.code, 0, renewed.stdout + renewed.stderr);
	const afterRenewal = findAgent(await openControllerRegistry(controllerPaths(controllerHome)).read(), 'kiosk7')!;
	t.not(afterRenewal.serial, serialBefore);
	t.is(readFileSync(agentPaths(home).cert, 'utf8'), afterRenewal.certificate!);
	t.regex(agentAudit(), /"event":"cert\.renewed"/);
	t.is((await runCli(controllerCli, ['run', 'hello', '--on', 'kiosk7'], {XI_EXEC_HOME: controllerHome})).code, 0);

	// The controller's next serial is handed over (pinned) through the relay, and the rotation completes.
	const rotated = await runCli(controllerCli, ['rotate'], {XI_EXEC_HOME: controllerHome});
	t.is(rotated.code, 0, rotated.stdout + rotated.stderr);
	t.regex(agentAudit(), /"event":"controller\.serial-announced"/);
	t.is((await runCli(controllerCli, ['run', 'hello', '--on', 'kiosk7'], {XI_EXEC_HOME: controllerHome})).code, 0);

	// Unpaired: told through the relay, its user is gone from the broker, whose reload drops the live connection; runs are refused.
	const reloadsBeforeUnpair = broker.reloads();
	const unpaired = await runCli(controllerCli, ['unpair', 'kiosk7'], {XI_EXEC_HOME: controllerHome});
	t.is(unpaired.code, 0, unpaired.stderr);
	t.regex(unpaired.stdout, /kiosk7 deleted its key, certificate and pins, and stopped\./);
	t.regex(unpaired.stdout, /Wrote .*nats-server\.conf: the controller and no relay agent yet .* The broker running here was asked to reload it/);
	await waitFor('nats-server to reload', () => broker.reloads() > reloadsBeforeUnpair);
	t.notRegex(readFileSync(join(broker.directory, 'nats-server.conf'), 'utf8'), /kiosk7/);
	await waitFor('kiosk7 to stop, unpaired', () => started.process.exitCode !== null);
	t.true(started.lines.some(line => line.includes('"event":"unpaired"')));
	t.regex(readFileSync(agentPaths(home).auditLog, 'utf8'), /"event":"agent\.unpaired"/);
	const refused = await runCli(controllerCli, ['run', 'hello', '--on', 'kiosk7', '--json'], {XI_EXEC_HOME: controllerHome});
	t.is(refused.code, 2);
	t.regex(refused.stdout, /kiosk7/);
});

test('pair refuses a bad --transport or --relay, naming each', async t => {
	const controllerHome = await createController();
	const result = await runCli(controllerCli, ['pair', '--listen', '127.0.0.1:0', '--transport', 'carrier-pigeon', '--relay', 'http://b:80'], {XI_EXEC_HOME: controllerHome});
	t.is(result.code, 2);
	t.regex(result.stderr, /--transport "carrier-pigeon" is not one of tls, nats, both; --relay "http:\/\/b:80" is not the broker's nats:\/\/HOST:PORT; for example --transport nats --relay nats:\/\/broker\.example\.net:4222\./);
});

test('init --listen none needs the broker it dials out to', async t => {
	const home = join(temporaryDirectory(), 'kiosk8');
	const bare = await runCli(agentCli, ['init', '--name', 'kiosk8', '--listen', 'none'], {XI_EXEC_AGENT_HOME: home});
	t.is(bare.code, 2);
	t.regex(bare.stderr, /--listen none opens no port: it needs --relay nats:\/\/HOST:PORT \(the broker this agent dials out to\) and no --advertise\./);
	const badRelay = await runCli(agentCli, ['init', '--name', 'kiosk8', '--listen', 'none', '--relay', 'broker:4222'], {XI_EXEC_AGENT_HOME: home});
	t.is(badRelay.code, 2);
	t.regex(badRelay.stderr, /--relay "broker:4222" must be the broker's nats:\/\/HOST:PORT\./);
});
