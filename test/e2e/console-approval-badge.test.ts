/**
 * The approvals badge in a real terminal: `xi-exec demo` (six real agents) at 80×24, a policy
 * that gates check-service on env=production. alice asks from another process (`run --no-wait`):
 * within the badge's refresh the console shows `1 awaiting approval (A)` on the screen it is on;
 * lead-bob approves from another process and, once alice has run it, the badge goes.
 */
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {cli, startDemo} from './helpers/demo.js';
import {missing, run, waitFor} from './helpers/tmux.js';

(missing ? test.skip : test)('the badge A appears on the fleet screen while a request waits, and goes once it is run', async t => {
	t.timeout(300_000);
	const {server, demoDirectory, screenWith} = await startDemo(t);
	const home = join(demoDirectory, 'controller');
	writeFileSync(join(home, 'policy.json'), JSON.stringify({approvals: {rules: [{name: 'production', scripts: ['check-service'], on: ['env=production'], approvers: ['token:lead-*']}]}}));
	const env = {...process.env, XI_EXEC_HOME: home, XI_EXEC_TOKEN: '', CI: 'true'};
	const token = async (name: string) => (JSON.parse((await run(process.execPath, [cli, 'token', 'create', '--name', name, '--operator', '--json'], {env})).stdout) as {token: string}).token;
	const alice = await token('alice');
	const bob = await token('lead-bob');
	const before = await screenWith('reachable');
	t.false(before.includes('awaiting approval'), 'no badge while nothing waits');

	// --no-wait exits 3 with the request: execFile rejects, with the output on the error.
	const asked = await run(process.execPath, [cli, 'run', 'check-service', '--on', 'env=production', '--no-wait', '--json'], {env: {...env, XI_EXEC_TOKEN: alice}}).then(() => ({code: 0, stdout: ''}), (error: {code: number; stdout: string}) => error);
	t.is(asked.code, 3);
	const {id} = (JSON.parse(asked.stdout) as {approval: {id: string}}).approval;
	t.regex(await screenWith('1 awaiting approval (A)'), /^xi-exec .* 1 awaiting approval \(A\) /m);

	await run(process.execPath, [cli, 'approve', id], {env: {...env, XI_EXEC_TOKEN: bob}});
	const ran = await run(process.execPath, [cli, 'run', '--approved', id], {env: {...env, XI_EXEC_TOKEN: alice}});
	t.regex(ran.stdout, /web1/);
	const after = await waitFor('the badge to go', async () => {
		const screen = await server.screen();
		return screen.includes('awaiting approval') ? undefined : screen;
	}, server.screen);
	t.regex(after, /reachable/);
});
