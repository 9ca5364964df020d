/**
 * `xi-exec relay cert` and `xi-exec relay config`, checked with tools we did not write: openssl
 * reads the broker certificate (its SAN URI is the role xi-exec:broker, it chains to the fleet
 * CA), and nats-server itself checks every configuration generated (`nats-server -c FILE -t`),
 * alone and as one node of a three-node cluster. Bad input gets one clear refusal.
 */
import {spawnSync} from 'node:child_process';
import {readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, runCli, temporaryDirectory} from '../helpers/fleet.js';
import {natsServerMissing} from '../helpers/nats-broker.js';

const missing = natsServerMissing();

async function controllerWithRelayAgent(): Promise<string> {
	const home = await createController();
	await enrolAgent(home, {name: 'nat1', port: freePort()});
	await enrolAgent(home, {name: 'web1', port: freePort()});
	await openControllerRegistry(controllerPaths(home)).update(registry => ({
		...registry,
		agents: registry.agents.map(record => (record.name === 'nat1' ? {...record, transport: 'nats' as const, relay: 'nats://127.0.0.1:4222'} : record)),
	}));
	return home;
}

test('relay cert writes a broker certificate openssl reads as role xi-exec:broker, chained to the fleet CA', async t => {
	const home = await controllerWithRelayAgent();
	const dir = join(temporaryDirectory(), 'broker');
	const result = await runCli(controllerCli, ['relay', 'cert', '--dir', dir, '--host', 'broker.example.net', '--host', '127.0.0.1', '--home', home]);
	t.is(result.code, 0, result.stderr);
	t.regex(result.stdout, /^Broker certificate \(role xi-exec:broker\), serial [\da-f]+, valid until /);
	t.is(statSync(join(dir, 'broker.key')).mode & 0o777, 0o600);
	const san = spawnSync('openssl', ['x509', '-in', join(dir, 'broker.pem'), '-noout', '-ext', 'subjectAltName'], {encoding: 'utf8'});
	t.regex(san.stdout, /URI:xi-exec:broker/);
	t.regex(san.stdout, /DNS:broker\.example\.net/);
	t.regex(san.stdout, /IP Address:127\.0\.0\.1/);
	const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'broker.pem')], {encoding: 'utf8'});
	t.is(verify.status, 0, verify.stderr);
	const audit = readFileSync(controllerPaths(home).auditLog, 'utf8');
	t.regex(audit, /"event":"relay\.certificate"/);
});

test('relay cert refuses without a name for the broker, and without --dir', async t => {
	const home = await createController();
	const noHost = await runCli(controllerCli, ['relay', 'cert', '--dir', join(temporaryDirectory(), 'b'), '--home', home]);
	t.is(noHost.code, 2);
	t.regex(noHost.stderr, /relay cert needs the names clients dial the broker by: --host broker\.example\.net/);
	const noDir = await runCli(controllerCli, ['relay', 'cert', '--host', 'b', '--home', home]);
	t.is(noDir.code, 2);
	t.regex(noDir.stderr, /relay cert needs --dir DIR/);
});

test('relay config before relay cert is refused with RELAY_NOT_SET_UP', async t => {
	const home = await createController();
	const result = await runCli(controllerCli, ['relay', 'config', '--dir', temporaryDirectory(), '--home', home, '--json']);
	t.is(result.code, 2);
	const {error} = JSON.parse(result.stdout) as {error: {code: string; message: string}};
	t.is(error.code, 'RELAY_NOT_SET_UP');
	t.regex(error.message, /lacks the broker's key or certificate .*; run `xi-exec relay cert --dir .* --host NAME` first\.$/);
});

test('relay config writes users for the relay agents only, and nats-server accepts it alone and as a cluster node', async t => {
	if (missing) {
		t.log(`nats-server checks skipped: ${missing}`);
	}

	const home = await controllerWithRelayAgent();
	const dir = join(temporaryDirectory(), 'broker');
	t.is((await runCli(controllerCli, ['relay', 'cert', '--dir', dir, '--host', 'localhost', '--home', home])).code, 0);
	const alone = await runCli(controllerCli, ['relay', 'config', '--dir', dir, '--listen', '127.0.0.1:4222', '--home', home, '--json']);
	t.is(alone.code, 0, alone.stderr);
	t.deepEqual(JSON.parse(alone.stdout), {config: join(dir, 'nats-server.conf'), agents: ['nat1'], reload: 'not-asked'});
	const config = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
	t.regex(config, /verify_and_map: true/);
	t.regex(config, /\{user: "xi-exec:agent\/nat1", permissions: \{publish: \{allow: \["xi\.r\.nat1\.\*", "xi\.p\.nat1"\]\}, subscribe: \{allow: \["xi\.a\.nat1\.req"\]\}\}\}/);
	t.notRegex(config, /web1/);
	const check = (file: string) => spawnSync('nats-server', ['-c', file, '-t'], {encoding: 'utf8'});
	if (!missing) {
		const checked = check(join(dir, 'nats-server.conf'));
		t.is(checked.status, 0, checked.stderr);
	}

	// The settings are remembered: only the routes are given now.
	const routes = ['nats://b1.example.net:6222', 'nats://b2.example.net:6222', 'nats://b3.example.net:6222'];
	const cluster = await runCli(controllerCli, ['relay', 'config', ...routes.flatMap(route => ['--route', route]), '--home', home]);
	t.is(cluster.code, 0, cluster.stderr);
	const clustered = readFileSync(join(dir, 'nats-server.conf'), 'utf8');
	t.regex(clustered, /listen: "127\.0\.0\.1:4222"/);
	t.regex(clustered, /cluster \{\n\tname: "xi-exec"\n\tlisten: "0\.0\.0\.0:6222"\n\ttls \{[^}]*verify_and_map: true[^}]*\}\n\tauthorization \{user: "xi-exec:broker"\}\n\troutes: \["nats:\/\/b1\.example\.net:6222", "nats:\/\/b2\.example\.net:6222", "nats:\/\/b3\.example\.net:6222"\]\n\}/);
	if (!missing) {
		const checked = check(join(dir, 'nats-server.conf'));
		t.is(checked.status, 0, checked.stderr);
	}

	const badRoute = await runCli(controllerCli, ['relay', 'config', '--route', 'nats://user:secret@b1:6222', '--home', home]);
	t.is(badRoute.code, 2);
	t.regex(badRoute.stderr, /each route is nats:\/\/HOST:PORT of one cluster node/);
});
