/**
 * `xi-exec audit verify --cross AGENT-LOG…` verifies each agent log fully, its checkpoint
 * signatures with the certificate the registry keeps for the agent the log names; a broken agent
 * log, or one whose agent has no certificate, exits 1 naming the file (and the first broken record).
 */
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {agentVerifierFromRegistry} from '../../source/audit/controller-log.js';
import {openAuditLog} from '../../source/audit/file-log.js';
import {signerFromPem} from '../../source/audit/checkpoint.js';
import {argsHash} from '../../source/audit/record.js';
import {auditVerifyCommand} from '../../source/commands/audit.js';
import type {AgentVerifierLookup} from '../../source/core/audit.js';
import {createCertificateAuthority, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem} from '../../source/pki/index.js';
import {emptyRegistry, addAgent, type Registry} from '../../source/registry/model.js';
import {auditKey, fakeClock, fileLines, parseLines, temporaryDirectory} from './helpers.js';

const now = new Date('2026-01-14T10:00:00.000Z');
const caKeys = await generateKeyPair();
const ca = {certificate: await createCertificateAuthority({keys: caKeys, now}), privateKey: caKeys.privateKey};

/** An agent's key and the certificate the fleet CA issued for it. */
async function agentIdentity(name: string) {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'agent', name}, now});
	const serial = normaliseSerial(certificate.serialNumber);
	return {name, serial, pem: certificate.toString('pem'), signer: signerFromPem(serial, await privateKeyToPem(keys.privateKey))};
}

const web1 = await agentIdentity('web1');
const web1Renewed = await agentIdentity('web1');
const intruder = await agentIdentity('web1');
const controllerKey = await auditKey('controller-key');

function registryWith(agents: Array<{name: string; serial: string; certificate?: string; formerCertificates?: string[]}>): Registry {
	return agents.reduce((registry, agent) => addAgent(registry, {address: '127.0.0.1:1', tags: {}, fingerprint: 'f', certificateExpires: now.toISOString(), pairedAt: now.toISOString(), ...agent}), emptyRegistry());
}

/** A controller log and web1's log of two runs, web1's signed by `signers` in turn (a renewal between the runs when two). */
async function writeFleet(t: ExecutionContext, signers = [web1.signer]) {
	const directory = temporaryDirectory(t);
	const clock = fakeClock();
	const controller = openAuditLog({path: join(directory, 'controller.jsonl'), side: 'controller', signer: controllerKey.signer, now: clock});
	const agentPath = join(directory, 'agent.jsonl');
	for (const [index, signer] of [signers[0]!, signers.at(-1)!].entries()) {
		const agent = openAuditLog({path: agentPath, side: 'agent', signer, now: clock});
		const requestId = `req-${index}`;
		const args = ['--n', String(index)];
		await controller.append({event: 'run.request', requestId, args, argsHash: argsHash(args), targets: ['web1']});
		await agent.append({event: 'run.finish', requestId, agent: 'web1', argsHash: argsHash(args), status: 'ok'});
		await agent.close();
		await controller.append({event: 'run.outcome', requestId, agent: 'web1', status: 'ok', agentHead: agent.signedHead()});
	}

	await controller.close();
	return {directory, controllerPath: join(directory, 'controller.jsonl'), agentPath};
}

function verifyCross(controllerPath: string, agentLogs: string[], agentVerifier: AgentVerifierLookup) {
	const out: string[] = [];
	const io = {stdout: (text: string) => out.push(text), stderr: (text: string) => out.push(text), onInterrupt() {
		// Nothing to cancel.
	}};
	const code = auditVerifyCommand(controllerPath, controllerKey.verifier, io, {agentLogs, agentVerifier});
	return {code, lines: out.join('').trimEnd().split('\n')};
}

const fromRegistry = (registry: Registry): AgentVerifierLookup => agent => agentVerifierFromRegistry(registry, agent);

test('an intact agent log verifies with the certificate the registry keeps for the agent it names', async t => {
	const {controllerPath, agentPath} = await writeFleet(t);
	const {code, lines} = verifyCross(controllerPath, [agentPath], fromRegistry(registryWith([{name: 'web1', serial: web1.serial, certificate: web1.pem}])));
	t.deepEqual(lines, [
		'ok: 5 records, chain intact, last checkpoint at 4',
		`ok: 4 records, chain intact, last checkpoint at 3 (${agentPath})`,
		'cross: ok, 1 agent log agree with the controller',
	]);
	t.is(code, 0);
});

test('after a renewal, checkpoints signed with the former key verify with the former certificate the registry keeps', async t => {
	const {controllerPath, agentPath} = await writeFleet(t, [web1.signer, web1Renewed.signer]);
	const renewed = registryWith([{name: 'web1', serial: web1Renewed.serial, certificate: web1Renewed.pem, formerCertificates: [web1.pem]}]);
	t.is(verifyCross(controllerPath, [agentPath], fromRegistry(renewed)).code, 0);
	const forgotten = registryWith([{name: 'web1', serial: web1Renewed.serial, certificate: web1Renewed.pem}]);
	const {code, lines} = verifyCross(controllerPath, [agentPath], fromRegistry(forgotten));
	t.is(code, 1);
	t.true(lines.includes(`broken: ${agentPath} line 2: bad checkpoint signature: the checkpoint signature does not verify with key ${web1.serial}`), lines.join('\n'));
});

type Row = {
	title: string;
	tamper?: (agentPath: string) => void;
	signers?: Array<typeof web1.signer>;
	registry: Registry;
	/** The lines printed about the agent log (between the controller's verdict and the cross-check). */
	expected: (agentPath: string) => string[];
};

const goodRegistry = registryWith([{name: 'web1', serial: web1.serial, certificate: web1.pem}]);

/** The hash of the first record cut off, for the row that cuts the tail. */
let cutHash = '';

const rows: Row[] = [
	{
		title: 'an edited record',
		tamper(agentPath) {
			const lines = fileLines(agentPath);
			writeFileSync(agentPath, lines.map((line, index) => (index === 2 ? line.replace('"status":"ok"', '"status":"failed"') : line)).join('\n'));
		},
		registry: goodRegistry,
		expected: agentPath => [`broken: ${agentPath} line 3: edited: record 2's hash does not match its content`],
	},
	{
		title: 'a deleted record',
		tamper(agentPath) {
			writeFileSync(agentPath, fileLines(agentPath).filter((_, index) => index !== 1).join('\n'));
		},
		registry: goodRegistry,
		expected: agentPath => [`broken: ${agentPath} line 2: missing: expected record 1, found 2: 1 record(s) missing`],
	},
	{
		title: 'checkpoints signed by another key under the agent\'s name (a rewrite by whoever holds the file)',
		signers: [intruder.signer],
		registry: goodRegistry,
		expected: agentPath => [`broken: ${agentPath} line 2: bad checkpoint signature: the checkpoint signature does not verify with key ${intruder.serial}`],
	},
	{
		title: 'the agent\'s own key, but the registry holds another agent\'s certificate for web1',
		registry: registryWith([{name: 'web1', serial: intruder.serial, certificate: intruder.pem}]),
		expected: agentPath => [`broken: ${agentPath} line 2: bad checkpoint signature: the checkpoint signature does not verify with key ${web1.serial}`],
	},
	{
		title: 'the tail cut off, and an agent the registry does not know: two breaks of one log, counted once',
		tamper(agentPath) {
			const lines = fileLines(agentPath);
			cutHash = String((JSON.parse(lines[2]!) as {hash: string}).hash).slice(0, 12);
			writeFileSync(agentPath, lines.slice(0, 2).join('\n') + '\n');
		},
		registry: registryWith([{name: 'db1', serial: web1.serial, certificate: web1.pem}]),
		expected: agentPath => [
			`broken: ${agentPath}: log truncated: the log ends at record 1, but the controller's witness of web1 says record 2 (hash ${cutHash}…) was written at 2026-01-14T10:00:08.000Z: record 2 at least was cut off`,
			`broken: ${agentPath}: cannot check its checkpoint signatures: no agent named web1 is in the registry`,
		],
	},
	{
		title: 'an agent the registry does not know',
		registry: registryWith([{name: 'db1', serial: web1.serial, certificate: web1.pem}]),
		expected: agentPath => [`broken: ${agentPath}: cannot check its checkpoint signatures: no agent named web1 is in the registry`],
	},
	{
		title: 'an agent paired before the registry kept certificates',
		registry: registryWith([{name: 'web1', serial: web1.serial}]),
		expected: agentPath => [`broken: ${agentPath}: cannot check its checkpoint signatures: the registry keeps no certificate for web1 (it was paired by an older xi-exec); pair it again`],
	},
];

for (const row of rows) {
	test(`--cross with a broken agent log exits 1 naming it: ${row.title}`, async t => {
		const {controllerPath, agentPath} = await writeFleet(t, row.signers);
		row.tamper?.(agentPath);
		const {code, lines} = verifyCross(controllerPath, [agentPath], fromRegistry(row.registry));
		t.is(code, 1);
		t.is(lines[0], 'ok: 5 records, chain intact, last checkpoint at 4');
		t.deepEqual(lines.slice(1, 1 + row.expected(agentPath).length), row.expected(agentPath));
		t.is(lines.at(-1), 'cross: 1 agent log is broken');
	});
}

test('--cross reads an agent log with its rotated files', async t => {
	const directory = temporaryDirectory(t);
	const clock = fakeClock();
	const controller = openAuditLog({path: join(directory, 'controller.jsonl'), side: 'controller', signer: controllerKey.signer, now: clock});
	const agent = openAuditLog({path: join(directory, 'agent.jsonl'), side: 'agent', signer: web1.signer, now: clock, rotateBytes: 4096, checkpointEvery: 4});
	for (let index = 0; index < 30; index++) {
		const requestId = `req-${index}`;
		await controller.append({event: 'run.request', requestId, argsHash: argsHash([]), targets: ['web1']});
		await agent.append({event: 'run.finish', requestId, agent: 'web1', argsHash: argsHash([]), status: 'ok'});
		await controller.append({event: 'run.outcome', requestId, agent: 'web1', status: 'ok', agentHead: agent.signedHead()});
	}

	await Promise.all([controller.close(), agent.close()]);
	const {code, lines} = verifyCross(join(directory, 'controller.jsonl'), [join(directory, 'agent.jsonl')], fromRegistry(goodRegistry));
	t.is(code, 0, lines.join('\n'));
	t.regex(lines[1]!, /^ok: \d+ records, chain intact, last checkpoint at \d+ \([2-9] files\) \(.*agent\.jsonl\)$/);
	t.is(parseLines(fileLines(join(directory, 'agent.jsonl')))[0]!.event, 'log.continued');
});
