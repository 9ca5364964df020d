/**
 * The runbook screen end to end, in a real terminal: `xi-exec demo` (six real agents) at 80×24
 * with a runbook in its controller's home. b, pick it, fill its parameters (a secret typed
 * masked), read its dry run (every host's policy answer), run it: the check fails on db2, the
 * restart (a `confirm` script) asks for its count on the screen and runs where the check failed,
 * the recheck fails again. The record the CLI reads (`xi-exec runbooks show ID --json`) has the
 * same steps and outcomes, and the secret is nowhere on disk. Then Tab lists that run and Enter
 * resumes it (the secret typed again), and the CLI reads the new run as a resume of the first. The
 * demo's own sample runbook is listed beside the test's.
 */
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {cli, startDemo} from './helpers/demo.js';
import {missing, run} from './helpers/tmux.js';

const runbook = `description: check a site, restart where the check failed, check those again
parameters:
  site:
    description: the site in trouble
    schema: {type: string, enum: [london, paris]}
    default: london
  password: {secret: true}
steps:
  - name: check
    script: check-service
    on: {tags: {site: {param: site}}}
    onFailure: continue
  - name: restart
    script: restart-app
    on: {failedIn: check}
  - name: recheck
    script: check-service
    on: {failedIn: check}
`;

/** Every file under a directory, read as text. */
function filesUnder(directory: string): Array<{path: string; text: string}> {
	return readdirSync(directory, {recursive: true, encoding: 'utf8'}).map(entry => join(directory, entry)).filter(path => statSync(path).isFile()).map(path => ({path, text: readFileSync(path, 'latin1')}));
}

(missing ? test.skip : test)('the runbook screen in a real terminal: parameters, dry run, a run whose steps and hosts are shown, a confirm asked on screen', async t => {
	t.timeout(300_000);
	const {server, demoDirectory, screenWith} = await startDemo(t);
	const home = join(demoDirectory, 'controller');
	mkdirSync(join(home, 'runbooks'), {recursive: true});
	writeFileSync(join(home, 'runbooks', 'incident.yaml'), runbook);

	await server.keys('b');
	const list = await screenWith('2 runbooks: Enter');
	t.regex(list, /\nincident {15}3 steps {2}site password {2}check a site, restart where the …\n/);
	t.regex(list, /\nsite-check {13}4 steps {2}site {2}check a site's service, restart it where …\n/, 'the demo\'s own sample runbook');
	await server.keys('Enter');
	await screenWith('> site     london');
	await server.keys('Right');
	await screenWith('> site     paris');
	await server.keys('Down');
	await server.text('hunter2');
	const filled = await screenWith('> password •••••••');
	t.false(filled.includes('hunter2'), 'the secret is masked as it is typed');
	await server.keys('Enter');
	const plan = await screenWith('Dry run, nothing ran');
	t.regex(plan, /\n1\. check: check-service on site=paris\n {3}3 hosts: cache1,db2,web2 {3}on failure: continue\n {3}✓ would run: cache1,db2,web2\n/, 'the selector resolved with the parameter, each host\'s policy answer');
	t.regex(plan, /\nParameters: site=paris {2}password=secret:sha256:[\da-f]{6}… \(secret\)\n/);

	await server.keys('Enter');
	const asked = await screenWith('Type 1');
	t.regex(asked, /\n✗ check {2}check-service {2}failed {2}2 ok · 1 failed/, 'the check failed on one host, shown before the question');
	t.regex(asked, /restart-app asks for confirmation/);
	await server.text('1');
	await server.keys('Enter');
	const ended = await screenWith(/failed \(step recheck failed/);
	const steps = ended.split('\n').slice(3, 6).map(line => line.replace(/ {2}\(.*$/, ''));
	t.deepEqual(steps, ['✗ check  check-service  failed  2 ok · 1 failed', '✓ restart  restart-app  ok  1 ok', '✗ recheck  check-service  failed  1 failed']);
	t.regex(ended, /│ db2 {2}✗ failed \(exit 3\)/, 'the last step\'s host, its pane with the failure');
	t.regex(ended, /│ stderr│ upstream: connection refused/);
	await server.keys('Up');
	t.regex(await screenWith('restarting app on db2'), /│ db2 {2}✓ ok/, '↑ shows the restart\'s host');
	const id = /runbook incident {2}run ([\da-f-]{36})/.exec(ended)?.[1];
	t.truthy(id);

	// The record the CLI reads: the same run, the same steps and hosts.
	const {stdout} = await run(process.execPath, [cli, 'runbooks', 'show', id!, '--json', '--home', home], {encoding: 'utf8'});
	const document = JSON.parse(stdout) as {status: string; parameters: Record<string, string>; steps: Array<{name: string; status: string; hosts: {ok: string[]; failed: string[]}}>};
	t.is(document.status, 'failed');
	t.deepEqual(document.steps.map(step => [step.name, step.status, step.hosts]), [['check', 'failed', {ok: ['cache1', 'web2'], failed: ['db2']}], ['restart', 'ok', {ok: ['db2'], failed: []}], ['recheck', 'failed', {ok: [], failed: ['db2']}]]);
	t.is(document.parameters['site'], 'paris');
	t.regex(document.parameters['password']!, /^secret:sha256:/);
	t.deepEqual(filesUnder(demoDirectory).filter(file => file.text.includes('hunter2')).map(file => file.path), [], 'the secret is on no file of the controller or the agents');

	await server.keys('Escape');
	t.regex(await screenWith('2 runbooks: Enter'), /\nTab: their runs \(1, 1 to resume\)/);

	// Tab: the runs; Enter resumes the failed one: the secret asked again, its dry run, the run.
	await server.keys('Tab');
	t.regex(await screenWith('1 runbook run, newest first'), /\n\d\d-\d\d \d\d:\d\d {2}incident {11}✗ failed {6}1\/3 steps ok/);
	await server.keys('Enter');
	await screenWith(`resuming run ${id!.slice(0, 8)}`);
	await server.text('hunter2');
	await server.keys('Enter');
	t.regex(await screenWith('Enter resumes run'), new RegExp(`resumes run ${id!} from step check`));
	await server.keys('Enter');
	await screenWith('Type 1');
	await server.text('1');
	await server.keys('Enter');
	const resumed = await screenWith(/failed \(step recheck failed/);
	const resumedId = /runbook incident {2}run ([\da-f-]{36})/.exec(resumed)?.[1];
	const again = JSON.parse((await run(process.execPath, [cli, 'runbooks', 'show', resumedId!, '--json', '--home', home], {encoding: 'utf8'})).stdout) as {resumeOf: string; parameters: Record<string, string>};
	t.is(again.resumeOf, id!, 'the record the CLI reads says which run it resumes');
	t.is(again.parameters['site'], 'paris', 'the run\'s own parameters were kept');
	t.deepEqual(filesUnder(demoDirectory).filter(file => file.text.includes('hunter2')).map(file => file.path), [], 'the secret typed again is on no file either');
});
