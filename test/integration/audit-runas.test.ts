/**
 * The agent's audit log against the scripts it runs: a script running as the entry's `runAs` user
 * (nobody) tries to append to, truncate, delete, rename and chmod the agent's log, to plant a file
 * next to it and to read the agent's key; every attempt is refused (the log is 0600, its directory
 * writable by the agent's user only), while a control write to a directory it may write succeeds,
 * and the log still verifies with the run's records in it. Needs root (the agent switches to the
 * runAs user only as root); skipped with the reason otherwise.
 */
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {dirname, join} from 'node:path';
import test from 'ava';
import {allowScript} from '../../agent/commands.js';
import {agentPaths} from '../../agent/home.js';
import {lookupUser} from '../../agent/users.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';

const isRoot = process.getuid?.() === 0;
const runAs = lookupUser('nobody');

const tamper = `#!/bin/sh
log="$1"; control="$2"; dir=$(dirname "$log"); home=$(dirname "$dir")
try() { name=$1; shift; if "$@" 2>/dev/null; then echo "$name: done"; else echo "$name: refused"; fi; }
echo "uid: $(id -u)"
try control sh -c ': > "$0/written"' "$control"
try append sh -c 'printf "%s\\n" "{\\"event\\":\\"forged\\"}" >> "$0"' "$log"
try truncate sh -c ': > "$0"' "$log"
try delete rm -f "$log"
try rename mv "$log" "$dir/moved"
try chmod chmod 666 "$log"
try plant sh -c ': > "$0/agent.jsonl.99"' "$dir"
try read-log sh -c 'cat "$0" > /dev/null' "$log"
try read-key sh -c 'cat "$0" > /dev/null' "$home/agent.key"
`;

if (!isRoot || !runAs) {
	test('a runAs script cannot touch the agent\'s audit log: skipped', t => {
		t.log(isRoot ? 'SKIPPED: there is no user "nobody" on this host to run the script as' : `SKIPPED: this test runs as uid ${process.getuid?.() ?? '?'}, not root: the agent can switch to a runAs user only as root`);
		t.pass();
	});
}

(isRoot && runAs ? test : test.skip)('a script running as the entry\'s runAs user cannot alter, truncate or delete the agent\'s audit log, which still verifies', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'guarded1', port: freePort()});
	const paths = agentPaths(agent.home);
	const script = installScript('tamper', tamper);
	chmodSync(dirname(script), 0o755);
	allowScript(paths, 'tamper', script, {description: 'tries to touch the agent\'s files', runAs: 'nobody'});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());

	// Loosen every directory on the way to the log so that nothing but the log's own mode and its
	// directory's write bits stand between the script and the log.
	for (const directory of [dirname(agent.home), agent.home, paths.auditDirectory]) {
		chmodSync(directory, 0o755);
	}

	const control = join(temporaryDirectory('xi-exec-control-'), 'open');
	mkdirSync(control);
	chmodSync(dirname(control), 0o755);
	chmodSync(control, 0o777);
	t.is(statSync(paths.auditLog).mode & 0o777, 0o600, 'the log is 0600');
	t.is(statSync(paths.auditLog).uid, 0, 'owned by the agent\'s user (root)');
	t.is(statSync(paths.auditDirectory).uid, 0);
	t.is(statSync(paths.auditDirectory).mode & 0o022, 0, 'its directory is writable by the agent\'s user only');
	const before = readFileSync(paths.auditLog, 'utf8');

	const env = {XI_EXEC_HOME: controller};
	const run = await runCli(controllerCli, ['run', 'tamper', '--on', 'guarded1', '--json', '--', paths.auditLog, control], env);
	t.is(run.code, 0, run.stderr + run.stdout);
	const {requestId, results: [result]} = JSON.parse(run.stdout) as {requestId: string; results: Array<{status: string; stdout: string}>};
	t.is(result!.status, 'ok');
	t.is(result!.stdout, [
		`uid: ${runAs!.uid}`,
		'control: done',
		'append: refused',
		'truncate: refused',
		'delete: refused',
		'rename: refused',
		'chmod: refused',
		'plant: refused',
		'read-log: refused',
		'read-key: refused',
		'',
	].join('\n'));
	t.true(existsSync(join(control, 'written')), 'the control write happened: the script really ran as a user who can write somewhere');
	await running.stop();

	t.deepEqual(readdirSync(paths.auditDirectory).filter(name => !name.endsWith('.lock')), ['agent.jsonl']);
	const after = readFileSync(paths.auditLog, 'utf8');
	t.true(after.startsWith(before), 'the records before the run are untouched');
	t.false(after.includes('"forged"'));
	const events = after.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === requestId).map(record => record['event']);
	t.deepEqual(events, ['request.received', 'decision', 'run.start', 'run.finish']);
	const verify = await runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(verify.code, 0, verify.stdout);
	t.regex(verify.stdout, /^ok: \d+ records, chain intact, last checkpoint at \d+$/m);
});
