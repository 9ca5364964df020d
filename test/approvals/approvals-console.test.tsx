/**
 * The console's approvals screen on the real ConsoleCore (createConsoleCore), in front of real
 * agents: a request alice made with `xi-exec run --no-wait` (another process) is listed with its
 * plan; bob, whose operator token the console was started with, approves it by typing the number
 * of hosts, and the controller records it as his; a console started with alice's own token is
 * refused with APPROVAL_SELF's words and approves nothing. A console run the policy names waits
 * for its decision in place: rejected, cancelled (the request stays open), approved (it runs).
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import type {ApprovalWait} from '../../source/approvals/wait-in-place.js';
import {controllerPaths} from '../../source/home.js';
import {createConsoleCore} from '../../source/ui/console-core.js';
import {ApprovalsScreen} from '../../source/ui/screens/approvals/approvals-screen.js';
import {controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, waitFor, type RunningAgent} from '../helpers/fleet.js';
import {keys, press, renderAt, waitForFrame} from '../ui/helpers/frames.js';

test('an operator approves from the console with their own token; the requester cannot', async t => {
	const controller = await createController();
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'production', scripts: ['echo-args'], on: ['env=production'], approvers: ['token:lead-*']}]}}));
	const script = installScript('echo-args', '#!/bin/sh\necho "$@"\n');
	const running: RunningAgent[] = [];
	t.teardown(async () => Promise.all(running.map(async agent => agent.stop())));
	for (const name of ['web1', 'web2']) {
		const agent = await enrolAgent(controller, {name, port: freePort(), tags: ['env=production'], scripts: {'echo-args': script}});
		running.push(await startAgent(agent));
	}

	const tokens: Record<string, string> = {};
	for (const name of ['alice', 'lead-bob']) {
		const created = await runCli(controllerCli, ['token', 'create', '--name', name, '--operator', '--json'], {XI_EXEC_HOME: controller});
		tokens[name] = (JSON.parse(created.stdout) as {token: string}).token;
	}

	const asked = await runCli(controllerCli, ['run', 'echo-args', '--on', 'env=production', '--no-wait', '--json', '--', 'hi'], {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: tokens['alice']!});
	t.is(asked.code, 3, asked.stderr);
	const {id} = (JSON.parse(asked.stdout) as {approval: {id: string}}).approval;
	const paths = controllerPaths(controller);
	const screen = (token: string) => {
		const core = createConsoleCore(paths, {caller: 'console-test', pairListen: {host: '127.0.0.1', port: 0}, token});
		const rendered = renderAt(<ApprovalsScreen approvals={core.approvals!} height={20} width={100} now={Date.now()} refreshMs={0} onBack={() => undefined}/>);
		t.teardown(rendered.unmount);
		return rendered;
	};

	// alice's own console: her approval is refused as the core words it.
	const own = screen(tokens['alice']!);
	const listed = await waitForFrame(own, 'run waits');
	t.true(listed.includes(`${id.slice(0, 8)} pending  echo-args      2 hosts  alice    needs 1 more of: token:lead-*`), listed);
	t.true(listed.includes('hosts    2: web[1-2]\npolicy   approval web[1-2]: rule "production" selects them\n'), listed);
	await press(own, keys.enter, 'Type the number of hosts (2)');
	await press(own, '2', 'then Enter: 2');
	await press(own, keys.enter, 'cannot approve it');
	own.unmount();

	const bobs = screen(tokens['lead-bob']!);
	await waitForFrame(bobs, 'run waits');
	await press(bobs, keys.enter, 'Type the number of hosts (2)');
	await press(bobs, '2', 'then Enter: 2');
	await press(bobs, keys.enter, 'approved: alice\'s run may start');
	const records = readFileSync(paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.like(records.findLast(record => record['event'] === 'approval.refused' && record['approvalId'] === id), {action: 'approve', code: 'APPROVAL_SELF', by: {name: 'alice'}, client: 'xi-exec console'});
	t.like(records.findLast(record => record['event'] === 'approval.approved' && record['approvalId'] === id), {approver: {name: 'lead-bob'}, approved: true, client: 'xi-exec console'});

	// The requester's run then starts with exactly the approved plan.
	const ran = await runCli(controllerCli, ['run', '--approved', id], {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: tokens['alice']!});
	t.is(ran.code, 0, ran.stderr);
});

test('a console run the approvals policy names waits for its decision: approved it runs, rejected it says why, cancelled the request stays open', async t => {
	const controller = await createController();
	writeFileSync(join(controller, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'production', scripts: ['touch-marker'], on: ['env=production'], approvers: ['token:lead-*']}]}}));
	const marker = join(controller, 'ran');
	const script = installScript('touch-marker', `#!/bin/sh\ntouch ${marker}\n`);
	const agent = await enrolAgent(controller, {name: 'web1', port: freePort(), tags: ['env=production'], scripts: {'touch-marker': script}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const tokens: Record<string, string> = {};
	for (const name of ['alice', 'lead-bob']) {
		const created = await runCli(controllerCli, ['token', 'create', '--name', name, '--operator', '--json'], {XI_EXEC_HOME: controller});
		tokens[name] = (JSON.parse(created.stdout) as {token: string}).token;
	}

	const paths = controllerPaths(controller);
	const records = () => readFileSync(paths.auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	const consoleRun = (token: string | undefined) => {
		const core = createConsoleCore(paths, {caller: 'console-test', pairListen: {host: '127.0.0.1', port: 0}, ...(token === undefined ? {} : {token})});
		t.teardown(async () => core.close?.());
		const waits: ApprovalWait[] = [];
		const handle = core.run({script: 'touch-marker', args: [], targets: ['web1'], onApproval: wait => waits.push(wait)}, () => undefined);
		const waiting = async () => waitFor(() => waits.find(wait => wait.state === 'waiting')?.id, 'the run to wait for approval');
		return {handle, waits, waiting};
	};

	// Without a token: refused, as the CLI refuses.
	const [bare] = await consoleRun(undefined).handle.done;
	t.regex(bare!.reason ?? '', /^This run needs approval \(1 of: token:lead-\*, rule "production"\), and approvals act on your own token/);
	t.like(records().findLast(record => record['event'] === 'run.refused'), {script: 'touch-marker', code: 'APPROVAL_TOKEN_REQUIRED'});

	// Rejected: the run ends with the rejection's words, and nothing ran.
	const rejected = consoleRun(tokens['alice']);
	const first = await rejected.waiting();
	t.is((await runCli(controllerCli, ['reject', first, '--reason', 'not during the sale'], {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: tokens['lead-bob']!})).code, 0);
	const [no] = await rejected.handle.done;
	t.regex(no!.reason ?? '', /was rejected by lead-bob: not during the sale/);
	t.like(rejected.waits.at(-1), {state: 'ended', id: first});
	t.false(existsSync(marker), 'a rejected run never ran');

	// Cancelled while waiting: the request stays open.
	const left = consoleRun(tokens['alice']);
	const second = await left.waiting();
	left.handle.cancel();
	const [stopped] = await left.handle.done;
	t.regex(stopped!.reason ?? '', new RegExp(`^Stopped waiting: request ${second} stays open`));
	t.regex((await runCli(controllerCli, ['approvals', 'show', second], {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: tokens['lead-bob']!})).stdout, /pending/);

	// Approved from another process: the waiting run goes on and runs the approved plan.
	const approved = consoleRun(tokens['alice']);
	const third = await approved.waiting();
	t.is((await runCli(controllerCli, ['approve', third], {XI_EXEC_HOME: controller, XI_EXEC_TOKEN: tokens['lead-bob']!})).code, 0);
	const [yes] = await approved.handle.done;
	t.like(yes, {agent: 'web1', status: 'ok'});
	t.true(existsSync(marker));
	t.deepEqual(approved.waits.map(wait => wait.state), ['waiting', 'approved']);
	t.like(records().findLast(record => record['event'] === 'run.request'), {script: 'touch-marker', approval: {id: third, approvers: ['lead-bob']}});
});
