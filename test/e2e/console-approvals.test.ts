/**
 * Approving in a real console: `xi-exec demo` (six real agents) gives the fleet; a policy gates
 * check-service on env=production. lead-bob's console (`xi-exec console` on the demo's home, in a
 * second tmux session at 80×24, with his operator token in XI_EXEC_TOKEN) shows the badge when
 * alice's `xi-exec run --on role=web` starts waiting in another process; on the approvals screen
 * it shows her plan (the hosts, the controller policy's answer for each, the arguments, the hash,
 * the rule); a wrong host count is refused with its message and approves nothing; the right count
 * approves, and alice's waiting run completes on exactly the approved hosts. The controller's
 * records name bob's console as the approving client.
 */
import {spawn} from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {cli, repoRoot, startDemo} from './helpers/demo.js';
import {missing, run, waitFor} from './helpers/tmux.js';

(missing ? test.skip : test)('another operator approves a waiting run in the console by typing its number of hosts', async t => {
	t.timeout(300_000);
	const {server, base, demoDirectory} = await startDemo(t);
	const home = join(demoDirectory, 'controller');
	writeFileSync(join(home, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'production', scripts: ['check-service'], on: ['env=production'], approvers: ['token:lead-*']}]}}));
	const env = {...process.env, XI_EXEC_HOME: home, XI_EXEC_TOKEN: '', CI: 'true'};
	const token = async (name: string) => (JSON.parse((await run(process.execPath, [cli, 'token', 'create', '--name', name, '--operator', '--json'], {env})).stdout) as {token: string}).token;
	const alice = await token('alice');
	const bob = await token('lead-bob');

	// bob's own console on the same home, as his token (TMPDIR: the teardown finds its processes under base).
	const command = `cd ${JSON.stringify(repoRoot)} && env -u CI TMPDIR=${JSON.stringify(base)} XI_EXEC_HOME=${JSON.stringify(home)} XI_EXEC_TOKEN=${JSON.stringify(bob)} ${JSON.stringify(process.execPath)} dist/source/cli.js console --pair-listen 127.0.0.1:0`;
	await server.tmux('new-session', '-d', '-s', 'bob', '-x', '80', '-y', '24', command);
	const screen = async () => server.tmux('capture-pane', '-p', '-t', 'bob');
	const keys = async (...pressed: string[]) => server.tmux('send-keys', '-t', 'bob', ...pressed);
	const showing = async (text: string | RegExp) => waitFor(String(text), async () => {
		const shown = await screen();
		return (typeof text === 'string' ? shown.includes(text) : text.test(shown)) ? shown : undefined;
	}, screen);
	await showing(/6 of 6 agents/);

	// alice asks from another process and waits there (no --no-wait).
	// role=web: web1 and web2 are in production (the rule selects them), web3 in staging (it does not).
	const asking = spawn(process.execPath, [cli, 'run', 'check-service', '--on', 'role=web'], {env: {...env, XI_EXEC_TOKEN: alice}, stdio: ['ignore', 'pipe', 'pipe']});
	t.teardown(() => {
		asking.kill('SIGKILL');
	});
	const output = {stdout: '', stderr: ''};
	asking.stdout.on('data', (chunk: Buffer) => {
		output.stdout += chunk.toString();
	});
	asking.stderr.on('data', (chunk: Buffer) => {
		output.stderr += chunk.toString();
	});
	const exited = new Promise<number | null>(resolve => asking.once('exit', resolve));
	const id = await waitFor('alice\'s run to wait for approval', async () => /waiting for approval: request ([\da-f-]{36})/.exec(output.stderr)?.[1], async () => JSON.stringify(output));

	await showing('1 awaiting approval (A)');
	await keys('A');
	const plan = await showing(`request  ${id}  pending`);
	t.regex(plan, /^1 run waits for approval:$/m);
	t.regex(plan, /^script {3}check-service$/m);
	t.regex(plan, /^asked {4}by alice /m);
	const hosts = /^hosts {4}(\d+): (.+)$/m.exec(plan);
	t.truthy(hosts, plan);
	const count = Number(hosts![1]);
	t.is(hosts![2], 'web[1-3]');
	// The controller policy's answer for each host, under the hosts.
	t.regex(plan, /^hosts {4}3: web\[1-3\]\npolicy {3}approval web\[1-2\]: rule "production" selects them\n {9}allowed {2}web3: no approval rule selects it$/m);
	t.regex(plan, /^plan {5}sha256 [\da-f]{64}$/m);
	t.regex(plan, /^needs {4}1 of: token:lead-\* \(rule "production"\)$/m);
	t.regex(plan, /^approved \(nobody yet\)$/m);

	// A wrong count approves nothing: the message says what to type.
	await keys('Enter');
	await showing(`Type the number of hosts (${count}) to approve, then Enter:`);
	await keys('-l', String(count - 1));
	await keys('Enter');
	await showing(`type ${count}, the number of hosts this plan runs on, to approve it`);
	const stillPending = JSON.parse(readFileSync(join(home, 'approvals.json'), 'utf8')) as {requests: Array<{id: string; state: string; votes: unknown[]}>};
	t.like(stillPending.requests.find(request => request.id === id), {state: 'pending', votes: []});

	await keys('BSpace');
	await keys('-l', String(count));
	await keys('Enter');
	await showing('approved: alice\'s run may start');

	// alice's run, waiting in its own process, starts and completes on the approved hosts.
	t.is(await exited, 0, JSON.stringify(output));
	const ranOn = [...output.stdout.matchAll(/^(\w+) +=/gm)].map(match => match[1]!).sort();
	const approved = (JSON.parse(readFileSync(join(home, 'approvals.json'), 'utf8')) as {requests: Array<{id: string; state: string; summary: {targets: string[]}}>}).requests.find(request => request.id === id);
	t.is(approved?.state, 'used');
	t.deepEqual(ranOn, [...approved!.summary.targets].sort(), output.stdout);
	t.is(ranOn.length, count);
	t.regex(output.stdout, new RegExp(`^${count} ok `, 'm'));

	const records = readFileSync(join(home, 'audit', 'controller.jsonl'), 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['approvalId'] === id);
	t.deepEqual(records.map(record => record['event']), ['approval.requested', 'approval.approved', 'approval.executed']);
	t.like(records[1], {approver: {name: 'lead-bob'}, approved: true, client: 'xi-exec console'});
	// The list and the badge refresh on their own: both go once the run has used the approval.
	await waitFor('the list and the badge to empty', async () => {
		const shown = await screen();
		return shown.includes('No runs wait for approval.') && !shown.includes('awaiting approval') ? shown : undefined;
	}, screen);
});
