/**
 * Secret arguments of an open approval request are never readable from approvals.json: sealed
 * with the home's approvals.key (AES-256-GCM, bound to the request and its plan hash) and opened
 * only by the controller that reads the file with that key. The pure table: what is sealed, what
 * opens, and each tampering that does not (another key, another request, another plan, a
 * changed blob or position list). Over real processes: alice asks with a secret, the file and the
 * audit log are searched for it byte by byte, bob approves (the plan resolved again with the
 * opened arguments), the script receives the secret; a key others can read is refused, and a
 * request whose secrets no longer open is refused as a changed plan, and nothing runs.
 */
import {createHash, randomBytes} from 'node:crypto';
import {chmodSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {allowScript} from '../../agent/commands.js';
import {agentPaths} from '../../agent/home.js';
import {openPlanArgs, sealPlanArgs} from '../../source/approvals/sealed-args.js';
import {hashSecret} from '../../source/protocol/secret-args.js';
import {makePlan, type RunPlan} from '../../source/run/plan.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, type RunningAgent} from '../helpers/fleet.js';

const secret = `S3cr3t-${randomBytes(6).toString('hex')}`;
const plan: RunPlan = makePlan({requestId: 'r-1', script: 'set-password', args: ['dave', secret, 'x'], shownArgs: ['dave', hashSecret(secret), 'x'], secretArgs: true, selector: ['all'], targets: [{name: 'vault1', address: '127.0.0.1:1'}], parallel: 1, timeoutSeconds: 30, dryRun: false, caller: 'api:alice', notes: []});
const key = randomBytes(32);
const requestId = '7c1e0000-0000-4000-8000-0000000000b1';

test('sealed: the secret positions hold "", the values open again with the key, the plan\'s hash unchanged', t => {
	const sealed = sealPlanArgs(plan, requestId, key);
	t.deepEqual(sealed.plan.args, ['dave', '', 'x']);
	t.is(sealed.plan.hash, plan.hash);
	t.false(JSON.stringify(sealed).includes(secret));
	t.deepEqual(sealed.sealed?.positions, [1]);
	t.deepEqual(openPlanArgs(sealed.plan, sealed.sealed!, requestId, key), plan);
	// Nothing secret: nothing sealed.
	const plain = makePlan({...plan, args: ['dave'], shownArgs: ['dave'], secretArgs: false});
	t.deepEqual(sealPlanArgs(plain, requestId, key), {plan: plain});
});

const doesNotOpen = 'its sealed arguments do not open with this home\'s approvals.key (another key, or the file was changed)';
const tampered: Array<[string, (sealed: ReturnType<typeof sealPlanArgs>) => [RunPlan, NonNullable<ReturnType<typeof sealPlanArgs>['sealed']>, string, Buffer], string]> = [
	['another key', s => [s.plan, s.sealed!, requestId, randomBytes(32)], doesNotOpen],
	['moved to another request', s => [s.plan, s.sealed!, '9a2b0000-0000-4000-8000-0000000000b2', key], doesNotOpen],
	['under another plan hash', s => [{...s.plan, hash: 'f'.repeat(64)}, s.sealed!, requestId, key], doesNotOpen],
	['its positions changed', s => [s.plan, {...s.sealed!, positions: [2]}, requestId, key], doesNotOpen],
	['a byte of the ciphertext changed', s => [s.plan, {...s.sealed!, data: Buffer.from(Buffer.from(s.sealed!.data, 'base64').map((byte, index) => (index === 0 ? byte ^ 1 : byte))).toString('base64')}, requestId, key], doesNotOpen],
	['another IV', s => [s.plan, {...s.sealed!, iv: randomBytes(12).toString('base64')}, requestId, key], doesNotOpen],
	['cut short', s => [s.plan, {...s.sealed!, data: s.sealed!.data.slice(0, 8)}, requestId, key], doesNotOpen],
];

for (const [title, change, reason] of tampered) {
	test(`sealed arguments do not open: ${title}`, t => {
		const [changedPlan, sealed, id, secretKey] = change(sealPlanArgs(plan, requestId, key));
		t.is(openPlanArgs(changedPlan, sealed, id, secretKey), reason);
	});
}

test('over real processes: approvals.json never holds the secret; the approved run gets it; a readable or another key is refused', async t => {
	const controller = await createController();
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'vault', scripts: ['set-password'], approvers: ['token:lead-*']}]}}));
	// The script prints the SHA-256 of the secret it receives (the agent scrubs the secret itself from output).
	const script = installScript('set-password', '#!/bin/sh\nprintf "%s" "$2" | sha256sum | cut -c1-64\n');
	const agent = await enrolAgent(controller, {name: 'vault1', port: freePort()});
	allowScript(agentPaths(agent.home), 'set-password', script, {description: 'sets a password', schema: JSON.stringify({type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, items: false})});
	const running: RunningAgent = await startAgent(agent);
	t.teardown(async () => running.stop());
	const env = {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: ''};
	const tokens: Record<string, string> = {};
	for (const name of ['alice', 'lead-bob']) {
		tokens[name] = (JSON.parse((await runCli(controllerCli, ['token', 'create', '--name', name, '--operator', '--json'], env)).stdout) as {token: string}).token;
	}

	const cli = async (who: string, ...args: string[]) => runCli(controllerCli, args, {...env, XI_EXEC_TOKEN: tokens[who]!});
	const ask = async () => {
		const asked = await cli('alice', 'run', 'set-password', '--on', 'vault1', '--no-wait', '--json', '--', 'dave', secret);
		t.is(asked.code, 3, asked.stderr);
		return (JSON.parse(asked.stdout) as {approval: {id: string; summary: {args: string[]}}}).approval;
	};

	const files = () => ({approvals: readFileSync(join(controller, 'approvals.json')), audit: readFileSync(join(controller, 'audit', 'controller.jsonl'))});
	const first = await ask();
	t.deepEqual(first.summary.args, ['dave', hashSecret(secret)]);
	for (const [name, bytes] of Object.entries(files())) {
		t.false(bytes.includes(secret), `${name} holds the secret in clear`);
	}

	const stored = (JSON.parse(files().approvals.toString()) as {requests: Array<{id: string; plan: {args: string[]}; sealed: {positions: number[]}}>}).requests.find(request => request.id === first.id)!;
	t.deepEqual(stored.plan.args, ['dave', '']);
	t.deepEqual(stored.sealed.positions, [1]);
	const keyFile = join(controller, 'approvals.key');
	t.is(statSync(keyFile).mode & 0o777, 0o600);

	t.is((await cli('lead-bob', 'approve', first.id)).code, 0);
	const ran = await cli('alice', 'run', '--approved', first.id, '--json');
	t.is(ran.code, 0, ran.stderr);
	const result = JSON.parse(ran.stdout) as {args: string[]; results: Array<{status: string; stdout: string}>};
	t.deepEqual(result.results.map(each => [each.status, each.stdout]), [['ok', `${createHash('sha256').update(secret).digest('hex')}\n`]]);
	t.deepEqual(result.args, ['dave', hashSecret(secret)]);
	for (const [name, bytes] of Object.entries(files())) {
		t.false(bytes.includes(secret), `${name} holds the secret in clear after the run`);
	}

	// A key others can read is refused, naming the fix.
	const second = await ask();
	chmodSync(keyFile, 0o644);
	const readable = await cli('lead-bob', 'approve', second.id);
	t.is(readable.code, 2);
	t.regex(readable.stderr, /approvals\.key must be 32 bytes that only the controller's account can read \(mode 0600; it is 0644, 32 bytes\): `chmod 600 .*approvals\.key`.*\(CONFIG_INVALID\)/);
	chmodSync(keyFile, 0o600);

	// Another key (the file copied to another home, or the key replaced): the whole file is refused
	// by its integrity check, with an audit record, and the request is left pending as it was.
	writeFileSync(keyFile, randomBytes(32), {mode: 0o600});
	const changed = await cli('lead-bob', 'approve', second.id);
	t.is(changed.code, 2);
	t.regex(changed.stderr, /approvals\.json is malformed: its integrity check failed \(it was edited by hand, torn, or comes from another controller's home\); restore it from a backup, or move it aside to drop its requests\. \(CONFIG_INVALID\)/);
	const log = readFileSync(join(controller, 'audit', 'controller.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(log.filter(record => record['approvalId'] === second.id).map(record => record['event']), ['approval.requested']);
	t.like(log.filter(record => record['event'] === 'approvals.refused').at(-1), {event: 'approvals.refused'});
	t.false(readFileSync(join(controller, 'audit', 'controller.jsonl')).includes(secret));
});
