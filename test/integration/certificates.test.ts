/**
 * Certificates over time, over real processes: `xi-exec-agent start` agents on 127.0.0.1 and the
 * real `xi-exec` CLI. Renewal at the threshold with a run in flight, rotation with an agent
 * offline (pending, then completed when it returns), forced rotation, unpairing a reachable and an
 * unreachable agent, and an expired agent certificate reported as such. Certificates are minted
 * with validity already mostly used (or seconds long) instead of waiting for a clock.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import type {TLSSocket} from 'node:tls';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths} from '../../source/home.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import {x509} from '../../source/pki/x509.js';
import {openRegistryStore} from '../../source/registry/store.js';
import {
	controllerCli,
	controllerCredentials,
	createController,
	rawExchange,
	requestLine,
	enrolAgent,
	freePort,
	installScript,
	runCli,
	spawnCli,
	startAgent,
	waitFor,
	type RunningAgent,
	type TestAgent,
} from '../helpers/fleet.js';

const day = 24 * 60 * 60 * 1000;
const stops: Array<() => Promise<void>> = [];
test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

const hello = installScript('cert-hello', '#!/bin/sh\necho hello from "$(hostname)"\n');
/** Runs until the test creates the file named by its argument: "in flight" for exactly as long as the test needs. */
const gated = installScript('cert-gated', '#!/bin/sh\necho started\nwhile [ ! -e "$1" ]; do sleep 0.1; done\necho finished\n');

function gate(): {path: string; open: () => void} {
	const path = join(mkdtempSync(join(tmpdir(), 'xi-exec-gate-')), 'open');
	return {path, open: () => writeFileSync(path, '')};
}

async function start(agent: TestAgent): Promise<RunningAgent> {
	const running = await startAgent(agent);
	stops.push(running.stop);
	return running;
}

function serialOf(pemPath: string): string {
	return normaliseSerial(new x509.X509Certificate(readFileSync(pemPath, 'utf8')).serialNumber);
}

function auditEvents(path: string, event: string): Array<Record<string, unknown>> {
	return readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['event'] === event);
}

async function registryAgent(controllerHome: string, name: string) {
	return (await openRegistryStore(controllerPaths(controllerHome).registry).read()).agents.find(agent => agent.name === name);
}

function run(controllerHome: string, args: string[]) {
	return runCli(controllerCli, [...args, '--home', controllerHome]);
}

test.serial('an agent below the renewal threshold is renewed after a run, with another run in flight, and serves with the new certificate', async t => {
	const controllerHome = await createController();
	const issuedAt = new Date(Date.now() - (80 * day));
	const agent = await enrolAgent(controllerHome, {name: 'renew1', port: freePort(), scripts: {hello, slow: gated}, issuedAt, notAfter: new Date(Date.now() + (10 * day))});
	await start(agent);
	const paths = agentPaths(agent.home);
	const oldSerial = serialOf(paths.cert);

	// A run that is still going while the renewal happens on another connection.
	const held = gate();
	const inFlight = spawnCli(controllerCli, ['run', 'slow', '--on', 'renew1', '--home', controllerHome, '--', held.path]);
	await waitFor(() => (inFlight.output().stdout.includes('renew1 | started') ? true : undefined), 'the slow run to start');
	const quick = await run(controllerHome, ['run', 'hello', '--on', 'renew1']);
	t.is(quick.code, 0, quick.stderr);
	t.regex(quick.stderr, /certificates: renew1: renewed, serial [\da-f]+, valid until/);

	t.false(inFlight.output().stdout.includes('renew1 | finished'), 'the slow run was still in flight during the renewal');
	held.open();
	const slowResult = await inFlight.done;
	t.is(slowResult.code, 0, slowResult.stderr);
	t.true(slowResult.stdout.includes('renew1 | finished'), 'the run in flight finished on the old connection');

	const newSerial = serialOf(paths.cert);
	t.not(newSerial, oldSerial);
	const record = await registryAgent(controllerHome, 'renew1');
	t.is(record?.serial, newSerial);
	t.true(Date.parse(record!.certificateExpires) > Date.now() + (80 * day));
	const registry = await openRegistryStore(controllerPaths(controllerHome).registry).read();
	t.deepEqual(registry.revoked?.map(entry => [entry.serial, entry.reason]), [[oldSerial, 'renewed']]);

	// Tools we did not write: openssl verifies the new certificate against the CA, and sees it served.
	t.regex(execFileSync('openssl', ['verify', '-CAfile', controllerPaths(controllerHome).caCert, paths.cert], {encoding: 'utf8'}), /: OK/);
	const cpaths = controllerPaths(controllerHome);
	const served = execFileSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${agent.port} -cert ${cpaths.controllerCert} -key ${cpaths.controllerKey} -CAfile ${cpaths.caCert} </dev/null 2>/dev/null | openssl x509 -noout -serial`], {encoding: 'utf8'});
	t.is(normaliseSerial(served.trim().replace(/^serial=/, '')), newSerial);
	// Swapping the certificate in keeps every TLS setting: TLS 1.2 is still refused after the renewal.
	const tls12 = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${agent.port}`, '-tls1_2', '-cert', cpaths.controllerCert, '-key', cpaths.controllerKey, '-CAfile', cpaths.caCert], {input: '', encoding: 'utf8'});
	t.regex(tls12.stdout, /New, \(NONE\), Cipher is \(NONE\)/, tls12.stdout);

	// Both logs record it; the agent's log still verifies across the key change.
	t.is(auditEvents(cpaths.auditLog, 'cert.renewed').at(-1)?.['serial'], newSerial);
	t.is(auditEvents(paths.auditLog, 'cert.renewed').at(-1)?.['serial'], newSerial);
	const verified = await runCli(join(controllerCli, '../../agent/cli.js'), ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(verified.code, 0, verified.stdout + verified.stderr);

	const after = await run(controllerHome, ['run', 'hello', '--on', 'renew1']);
	t.is(after.code, 0, after.stderr);
	t.notRegex(after.stderr, /renewed/, 'a fresh certificate is not renewed again');
	// The agent signs its checkpoints with the new key from the renewal on (it keeps its key in memory between them).
	t.deepEqual([...new Set(auditEvents(paths.auditLog, 'checkpoint').slice(-2).map(record => record['keyId']))], [newSerial]);

	// The controller checks the agent's log across the key change, with the certificates it kept.
	const cross = await run(controllerHome, ['audit', 'verify', '--cross', paths.auditLog]);
	t.is(cross.code, 0, cross.stdout + cross.stderr);
});

test.serial('certificate frames out of order, or mixed with a run, are refused on the wire; one renewal at a time per agent', async t => {
	const controllerHome = await createController();
	const agent = await enrolAgent(controllerHome, {name: 'order1', port: freePort(), scripts: {hello}});
	await start(agent);
	const credentials = controllerCredentials(controllerHome);
	const raw = async (send: string[], onSecure?: (socket: TLSSocket) => void) => rawExchange(agent.port, {ca: credentials.ca, key: credentials.key, cert: credentials.cert, ...(onSecure ? {onSecure} : {send})});
	const before = serialOf(agentPaths(agent.home).cert);
	const id = 'order-request-0001';

	const cases: Array<{title: string; send: string[]; frames: Array<Record<string, unknown>>}> = [
		{title: 'a certificate with no renewal started', send: [requestLine({type: 'certificate', id, certificate: readFileSync(agentPaths(agent.home).cert, 'utf8')})], frames: [{type: 'error', code: 'forbidden', message: 'renewal refused: no renewal was started on this connection'}]},
		{title: 'a run after a renew on one connection', send: [requestLine({type: 'renew', id, caller: 't'}), requestLine({type: 'run', id: 'order-request-0002', script: 'hello', args: [], caller: 't'})], frames: [{type: 'error', code: 'malformed', message: 'a run cannot share a connection with certificate requests'}]},
		{title: 'a renew after a run on one connection', send: [requestLine({type: 'run', id, script: 'hello', args: [], caller: 't'}), requestLine({type: 'renew', id: 'order-request-0002', caller: 't'})], frames: [{type: 'error', code: 'malformed', message: 'certificate requests cannot share a connection with a run'}]},
		{title: 'a pin with a serial that is not hex', send: [requestLine({type: 'pin', id, caller: 't', serial: 'not-hex'})], frames: [{type: 'error', code: 'malformed', message: 'field "serial" must be a certificate serial in hex'}]},
	];
	for (const c of cases) {
		const reply = await raw(c.send);
		const refusals = reply.frames.filter(frame => frame['type'] === 'error').map(({type, code, message}) => ({type, code, message}));
		t.deepEqual(refusals, c.frames, c.title);
	}

	// Two connections asking at once: the second is told a renewal is in progress.
	let first: TLSSocket | undefined;
	let csrReceived = false;
	const holding = raw([], socket => {
		first = socket;
		socket.on('data', (chunk: Buffer) => {
			csrReceived ||= chunk.toString().includes('"type":"csr"');
		});
		socket.write(requestLine({type: 'renew', id: 'order-request-0003', caller: 't'}));
	});
	await waitFor(() => (csrReceived ? true : undefined), 'the first renewal to answer with its CSR');
	const second = await raw([requestLine({type: 'renew', id: 'order-request-0004', caller: 't'})]);
	t.deepEqual(second.frames.map(({type, code, message}) => ({type, code, message})), [{type: 'error', code: 'busy', message: 'a renewal of this agent is already in progress'}]);
	first!.destroy();
	await holding;
	t.is(serialOf(agentPaths(agent.home).cert), before, 'nothing was installed');
});

test.serial('xi-exec renew forces a renewal; with the CA key offline it is queued and says why', async t => {
	const controllerHome = await createController();
	const agent = await enrolAgent(controllerHome, {name: 'renew2', port: freePort(), scripts: {hello}});
	await start(agent);
	const before = serialOf(agentPaths(agent.home).cert);

	const cpaths = controllerPaths(controllerHome);
	const key = readFileSync(cpaths.caKey, 'utf8');
	execFileSync('mv', [cpaths.caKey, `${cpaths.caKey}.offline`]);
	const queued = await run(controllerHome, ['renew', '--on', 'renew2']);
	t.is(queued.code, 1);
	t.regex(queued.stdout, /renewal queued for renew2: The CA key is not at .* \(kept offline\?\)/);
	t.is(serialOf(agentPaths(agent.home).cert), before);
	t.is(auditEvents(cpaths.auditLog, 'cert.renewal-queued').length, 1);

	execFileSync('mv', [`${cpaths.caKey}.offline`, cpaths.caKey]);
	t.is(readFileSync(cpaths.caKey, 'utf8'), key);
	const renewed = await run(controllerHome, ['renew', '--on', 'renew2']);
	t.is(renewed.code, 0, renewed.stdout + renewed.stderr);
	t.regex(renewed.stdout, /renew2: renewed/);
	t.not(serialOf(agentPaths(agent.home).cert), before);
});

test.serial('a passphrase-protected CA key: renewals wait for XI_EXEC_CA_PASSPHRASE and say so; openssl reads the key with it', async t => {
	const controllerHome = await createController();
	const agent = await enrolAgent(controllerHome, {name: 'locked1', port: freePort(), scripts: {hello}});
	await start(agent);
	const cpaths = controllerPaths(controllerHome);
	const passphrase = 'correct horse battery staple';

	const short = await runCli(controllerCli, ['ca', 'protect', '--home', controllerHome], {XI_EXEC_CA_PASSPHRASE: 'short'});
	t.is(short.code, 2);
	t.regex(short.stderr, /12 characters at least/);
	const protect = await runCli(controllerCli, ['ca', 'protect', '--home', controllerHome], {XI_EXEC_CA_PASSPHRASE: passphrase});
	t.is(protect.code, 0, protect.stderr);
	t.regex(readFileSync(cpaths.caKey, 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
	execFileSync('openssl', ['pkey', '-in', cpaths.caKey, '-passin', 'env:XI_EXEC_CA_PASSPHRASE', '-noout'], {env: {...process.env, XI_EXEC_CA_PASSPHRASE: passphrase}});

	const cases: Array<{env: NodeJS.ProcessEnv; code: number; output: RegExp}> = [
		{env: {XI_EXEC_CA_PASSPHRASE: ''}, code: 1, output: /renewal queued for locked1: The CA key at .* is passphrase-protected; set XI_EXEC_CA_PASSPHRASE/},
		{env: {XI_EXEC_CA_PASSPHRASE: 'wrong passphrase here'}, code: 1, output: /renewal queued for locked1: The CA key at .* cannot be decrypted with XI_EXEC_CA_PASSPHRASE/},
		{env: {XI_EXEC_CA_PASSPHRASE: passphrase}, code: 0, output: /locked1: renewed, serial/},
	];
	for (const c of cases) {
		const result = await runCli(controllerCli, ['renew', '--home', controllerHome], c.env);
		t.is(result.code, c.code, result.stdout + result.stderr);
		t.regex(result.stdout, c.output);
	}

	const doctor = await runCli(controllerCli, ['doctor', '--home', controllerHome], {XI_EXEC_CA_PASSPHRASE: ''});
	t.regex(doctor.stdout, /ok +CA key +apart, mode 600, passphrase-protected/);
});

test.serial('rotation with one agent offline stays pending, then completes when it returns; agents accept old and new until they see the new', async t => {
	const controllerHome = await createController();
	const one = await enrolAgent(controllerHome, {name: 'rot1', port: freePort(), scripts: {hello}});
	const two = await enrolAgent(controllerHome, {name: 'rot2', port: freePort(), scripts: {hello}});
	await start(one);
	const cpaths = controllerPaths(controllerHome);
	const oldSerial = serialOf(cpaths.controllerCert);

	const pending = await run(controllerHome, ['rotate']);
	t.is(pending.code, 1, pending.stdout + pending.stderr);
	t.regex(pending.stdout, /rot1: pinned the new controller serial/);
	t.regex(pending.stdout, /rot2: did not get the new controller serial \(connection refused/);
	t.regex(pending.stdout, new RegExp(`Rotation pending: the controller keeps serial ${oldSerial} until rot2 has serial`));
	t.is(serialOf(cpaths.controllerCert), oldSerial, 'the old certificate stays in use');
	const newSerial = JSON.parse(readFileSync(cpaths.rotation, 'utf8')).serial as string;
	t.deepEqual(JSON.parse(readFileSync(agentPaths(one.home).pins, 'utf8')).controllerSerials, [oldSerial, newSerial]);
	t.is((await run(controllerHome, ['run', 'hello', '--on', 'rot1'])).code, 0, 'the reached agent still obeys the old certificate');

	await start(two);
	const completed = await run(controllerHome, ['rotate']);
	t.is(completed.code, 0, completed.stdout + completed.stderr);
	t.regex(completed.stdout, /rot2: pinned the new controller serial/);
	t.regex(completed.stdout, new RegExp(`rotation complete: the controller now uses serial ${newSerial}`));
	t.is(serialOf(cpaths.controllerCert), newSerial);
	t.false(existsSync(cpaths.rotation));

	const both = await run(controllerHome, ['run', 'hello', '--on', 'rot1', '--on', 'rot2']);
	t.is(both.code, 0, both.stdout + both.stderr);
	for (const agent of [one, two]) {
		t.deepEqual(JSON.parse(readFileSync(agentPaths(agent.home).pins, 'utf8')).controllerSerials, [newSerial], `${agent.name} retired the old serial after seeing the new one`);
		t.is(auditEvents(agentPaths(agent.home).auditLog, 'controller.serial-confirmed').length, 1);
	}

	const controllerLog = cpaths.auditLog;
	t.is(auditEvents(controllerLog, 'controller.rotation-started').length, 1);
	t.deepEqual(auditEvents(controllerLog, 'controller.rotated').map(record => [record['serial'], record['forced']]), [[newSerial, false]]);
	t.regex(execFileSync('openssl', ['verify', '-CAfile', cpaths.caCert, cpaths.controllerCert], {encoding: 'utf8'}), /: OK/);
});

test.serial('a rotation completing during a rollout loses no request: a host that already retired the old serial is dialled again with the new certificate', async t => {
	const controllerHome = await createController();
	const first = await enrolAgent(controllerHome, {name: 'wave1', port: freePort(), scripts: {longer: gated, hello}});
	const second = await enrolAgent(controllerHome, {name: 'wave2', port: freePort(), scripts: {longer: gated, hello}});
	const held = gate();
	await start(first);
	await start(second);

	// One host at a time: wave2 is dialled only after wave1 finishes, with the credentials the run started with.
	const rollout = spawnCli(controllerCli, ['run', 'longer', '--on', 'wave1', '--on', 'wave2', '--batch', '1', '--home', controllerHome, '--', held.path]);
	await waitFor(() => (rollout.output().stdout.includes('wave1 | started') ? true : undefined), 'the first wave to start');
	const rotated = await run(controllerHome, ['rotate']);
	t.is(rotated.code, 0, rotated.stdout + rotated.stderr);
	// A contact with the new certificate makes wave2 retire the old serial before the rollout reaches it.
	t.is((await run(controllerHome, ['run', 'hello', '--on', 'wave2'])).code, 0);
	t.is(JSON.parse(readFileSync(agentPaths(second.home).pins, 'utf8')).controllerSerials.length, 1);
	t.false(rollout.output().stdout.includes('wave2 | started'), 'the rollout had not reached wave2 yet');
	held.open();

	const result = await rollout.done;
	t.is(result.code, 0, result.stdout + result.stderr);
	t.regex(result.stdout, /wave2 \| finished/);
	t.regex(result.stdout, /2 ok/);
});

test.serial('a forced rotation switches at once and names the agents that must be paired again; they refuse the unannounced certificate', async t => {
	const controllerHome = await createController();
	const one = await enrolAgent(controllerHome, {name: 'force1', port: freePort(), scripts: {hello}});
	const two = await enrolAgent(controllerHome, {name: 'force2', port: freePort(), scripts: {hello}});
	await start(one);

	const forced = await run(controllerHome, ['rotate', '--force']);
	t.is(forced.code, 0, forced.stdout + forced.stderr);
	t.regex(forced.stdout, /Forced: the controller now uses serial [\da-f]+\. force2 never received it and will refuse this controller: pair it again/);
	t.is(auditEvents(controllerPaths(controllerHome).auditLog, 'controller.rotated').at(-1)?.['unreached']?.toString(), 'force2');

	t.is((await run(controllerHome, ['run', 'hello', '--on', 'force1'])).code, 0);
	await start(two);
	const refused = await run(controllerHome, ['run', 'hello', '--on', 'force2']);
	t.is(refused.code, 1);
	t.regex(refused.stdout, /force2 = error: the agent refused the connection \(unpinned\): controller certificate serial [\da-f]+ is not the pinned one/);
});

test.serial('unpair: a reachable agent deletes its credentials and stops; an unreachable one is revoked and refused if it shows up again', async t => {
	const controllerHome = await createController();
	const reachable = await enrolAgent(controllerHome, {name: 'gone1', port: freePort(), scripts: {hello}});
	const offline = await enrolAgent(controllerHome, {name: 'gone2', port: freePort(), scripts: {hello}});
	const running = await start(reachable);
	const cpaths = controllerPaths(controllerHome);

	const told = await run(controllerHome, ['unpair', 'gone1']);
	t.is(told.code, 0, told.stdout + told.stderr);
	t.regex(told.stdout, /Unpaired gone1: removed from the registry; certificate serial [\da-f]+ is revoked/);
	t.regex(told.stdout, /gone1 deleted its key, certificate and pins, and stopped/);
	await waitFor(() => (running.process.exitCode === null ? undefined : true), 'the unpaired agent to stop');
	const home = agentPaths(reachable.home);
	t.false(existsSync(home.key) || existsSync(home.cert) || existsSync(home.pins));
	t.is(auditEvents(home.auditLog, 'agent.unpaired').length, 1);

	const offlineSerial = serialOf(agentPaths(offline.home).cert);
	const notTold = await run(controllerHome, ['unpair', 'gone2']);
	t.is(notTold.code, 0);
	t.regex(notTold.stdout, /gone2 could not be told \(connection refused.*\); on its host, stop xi-exec-agent and delete agent\.key/);
	t.deepEqual(auditEvents(cpaths.auditLog, 'agent.unpaired').map(record => [record['agent'], record['told']]), [['gone1', true], ['gone2', false]]);

	// A stale registry entry (a restored backup) brings the agent back: its revoked certificate is refused.
	await start(offline);
	const store = openRegistryStore(cpaths.registry);
	await store.update(registry => ({...registry, agents: [{name: 'gone2', address: `127.0.0.1:${offline.port}`, tags: {}, serial: offlineSerial, fingerprint: '', certificateExpires: new Date(Date.now() + day).toISOString(), pairedAt: new Date().toISOString()}]}));
	const refused = await run(controllerHome, ['run', 'hello', '--on', 'gone2']);
	t.is(refused.code, 1);
	t.regex(refused.stdout, new RegExp(`gone2.*certificate serial ${offlineSerial}, which is revoked`, 's'));

	const unknown = await run(controllerHome, ['unpair', 'nobody']);
	t.is(unknown.code, 2);
	t.regex(unknown.stderr, /No agent named nobody is registered/);
});

test.serial('an expired agent certificate is reported as expired, with the command to pair it again', async t => {
	// The agent refuses to start on an expired certificate, so it starts on one that expires soon
	// after. On a loaded host enrolling and starting can outlast that: then again, with a longer life.
	const {controllerHome, agent, running} = await startWithCertificateExpiringSoon();
	await waitFor(() => (Date.now() > Date.parse(readCertificateExpiry(agent)) + 1000 ? true : undefined), 'the certificate to expire', {giveUpMs: 20_000});

	const result = await run(controllerHome, ['run', 'hello', '--on', 'expired1']);
	t.is(result.code, 1);
	t.regex(result.stdout, /expired1.*the certificate of agent expired1 has expired \(it was not renewed in time\); pair it again: run `xi-exec pair --listen HOST:PORT --replace` here and `xi-exec-agent pair --controller HOST:PORT` on its host/s);

	const doctor = await run(controllerHome, ['doctor']);
	t.is(doctor.code, 1);
	t.regex(doctor.stdout, /fail +agent expired1 +certificate expired .*; pair it again/);

	await running.stop();
	const restart = await runCli(join(controllerCli, '../../agent/cli.js'), ['start'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(restart.code, 2);
	t.regex(restart.stderr, /This agent's certificate expired at .*; pair it again/);
});

async function startWithCertificateExpiringSoon(): Promise<{controllerHome: string; agent: TestAgent; running: RunningAgent}> {
	for (const lifeMs of [6000, 20_000, 60_000]) {
		const controllerHome = await createController();
		const agent = await enrolAgent(controllerHome, {name: 'expired1', port: freePort(), scripts: {hello}, notAfter: new Date(Date.now() + lifeMs)});
		try {
			return {controllerHome, agent, running: await start(agent)};
		} catch (error) {
			if (!/certificate expired/.test((error as Error).message)) {
				throw error;
			}
		}
	}

	throw new Error('the agent could not start before its certificate expired, even with a minute to do it');
}

function readCertificateExpiry(agent: TestAgent): string {
	return new x509.X509Certificate(readFileSync(agentPaths(agent.home).cert, 'utf8')).notAfter.toISOString();
}
