/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read audit records loosely, as a reader of the log would. */
/**
 * Every security-relevant controller action is audited before it takes effect, and fails closed:
 * through the built `xi-exec`, each action with the audit log unwritable (the log's path is a
 * directory, which root cannot write either) is refused with AUDIT_UNAVAILABLE and leaves every
 * file of the home as it was; with a writable log, each leaves its record (and the effect).
 */
import {createHash} from 'node:crypto';
import {mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import test from 'ava';
import {controllerPaths} from '../../source/home.js';
import {controllerCli, createController, enrolAgent, freePort, runCli} from '../helpers/fleet.js';

type Home = {home: string; paths: ReturnType<typeof controllerPaths>};

async function controllerWithAgent(): Promise<Home> {
	const home = await createController();
	const paths = controllerPaths(home);
	// Nobody listens on this port: an unpair or a rotation cannot reach it (the action is the controller's alone).
	await enrolAgent(home, {name: 'web1', port: freePort(), tags: ['env=production']});
	return {home, paths};
}

const xiExec = async (home: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(controllerCli, args, {XI_EXEC_HOME: home, ...env});

/** Every file of the home but the audit directory and lock files, with its SHA-256: "nothing changed" is this, unchanged. */
function snapshot(home: string): Record<string, string> {
	const files: Record<string, string> = {};
	const walk = (directory: string) => {
		for (const entry of readdirSync(directory, {withFileTypes: true})) {
			const path = join(directory, entry.name);
			if (entry.name === 'audit' || entry.name.endsWith('.lock')) {
				continue;
			}

			if (entry.isDirectory()) {
				walk(path);
			} else {
				files[relative(home, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
			}
		}
	};

	walk(home);
	return files;
}

function makeAuditUnwritable(paths: Home['paths']): void {
	rmSync(paths.auditLog, {force: true});
	mkdirSync(paths.auditLog, {recursive: true});
}

const records = (paths: Home['paths']) => readFileSync(paths.auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>);

const passphrase = {XI_EXEC_CA_PASSPHRASE: 'correct horse battery'};

/** Each action: its arguments, what must exist first, and the record it leaves when the log is writable. */
const actions: Array<{name: string; args: string[]; env?: NodeJS.ProcessEnv; before?: (home: Home) => Promise<void>; record: Record<string, unknown>; code?: number}> = [
	{name: 'token create', args: ['token', 'create', '--name', 'ci', '--scripts', 'hello', '--on', 'env=production'], record: {event: 'token.created', name: 'ci', scripts: ['hello'], on: ['env=production'], expiresAt: null}},
	{
		name: 'token revoke',
		args: ['token', 'revoke', 'ci'],
		async before({home}) {
			const created = await xiExec(home, ['token', 'create', '--name', 'ci', '--scripts', 'hello', '--on', 'all']);
			if (created.code !== 0) {
				throw new Error(created.stderr);
			}
		},
		record: {event: 'token.revoked', name: 'ci', scripts: ['hello'], on: ['all']},
	},
	{name: 'tag', args: ['tag', 'web1', 'role=db'], record: {event: 'agent.tags', agent: 'web1', set: {role: 'db'}, after: {env: 'production', role: 'db'}}},
	{name: 'untag', args: ['untag', 'web1', 'env'], record: {event: 'agent.tags', agent: 'web1', unset: ['env'], after: {}}},
	{name: 'unpair', args: ['unpair', 'web1'], record: {event: 'agent.unpairing', agent: 'web1'}},
	// Unreachable agent: the rotation starts and stays pending (exit 1); --force then switches.
	{name: 'rotate', args: ['rotate'], record: {event: 'controller.rotation-started'}, code: 1},
	{
		name: 'rotate --force',
		args: ['rotate', '--force'],
		async before({home}) {
			await xiExec(home, ['rotate']);
		},
		record: {event: 'controller.rotated', forced: true, unreached: ['web1']},
	},
	{name: 'ca protect', args: ['ca', 'protect'], env: passphrase, record: {event: 'ca.protected'}},
];

for (const action of actions) {
	test(`${action.name}: refused with AUDIT_UNAVAILABLE while the audit log cannot be written, and nothing changed`, async t => {
		const home = await controllerWithAgent();
		await action.before?.(home);
		const before = snapshot(home.home);
		makeAuditUnwritable(home.paths);
		const result = await xiExec(home.home, action.args, action.env);
		t.is(result.code, 2, result.stderr);
		t.regex(result.stderr, new RegExp(`Cannot write the audit log ${home.paths.auditLog} \\(EISDIR\\); refusing to act without a record\\.`));
		t.deepEqual(snapshot(home.home), before);
	});

	test(`${action.name}: audited with who did it before it takes effect`, async t => {
		const home = await controllerWithAgent();
		await action.before?.(home);
		const before = snapshot(home.home);
		const result = await xiExec(home.home, action.args, action.env);
		t.is(result.code, action.code ?? 0, result.stderr);
		t.notDeepEqual(snapshot(home.home), before, 'the action had an effect');
		const record = records(home.paths).filter(record => record['event'] === action.record['event']).at(-1);
		t.like(record, {side: 'controller', ...action.record});
		t.regex(String(record?.['caller']), /^[^@]+@.+$/);
		// A token's value is never in the log: only its id.
		if (String(action.record['event']).startsWith('token.')) {
			t.regex(String(record?.['id']), /^[\w-]+$/);
			t.false(JSON.stringify(records(home.paths)).includes('xie_'), 'no token value in the audit log');
		}
	});
}

test('unpair records the outcome after the intent', async t => {
	const home = await controllerWithAgent();
	const result = await xiExec(home.home, ['unpair', 'web1']);
	t.is(result.code, 0, result.stderr);
	const events = records(home.paths).map(record => record['event']).filter(event => event !== 'checkpoint');
	t.deepEqual(events, ['agent.unpairing', 'agent.unpaired']);
	t.like(records(home.paths).find(record => record['event'] === 'agent.unpaired'), {agent: 'web1', told: false});
	t.true(statSync(home.paths.registry).size > 0);
});
