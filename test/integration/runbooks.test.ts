/**
 * Runbooks over four real agents through the real CLI: the three-step incident runbook (check →
 * restart where the check failed → check those again), a step over its failure threshold stopping
 * the runbook with exact counts, validation listing every problem before anything is dialled, a
 * cancel mid-step leaving no process on any host, a controller SIGKILLed mid-runbook and then
 * `--resume`, and a changed file refused on resume. One fleet, tests in series.
 */
import {appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerPaths} from '../../source/home.js';

import {controllerCli, createController, enrolAgent, freePort, installFixture, installScript, logEvents, runCli, spawnCli, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const names = ['web1', 'web2', 'web3', 'web4'];
const stops: Array<() => Promise<void>> = [];
test.after.always(async () => {
	await Promise.all(stops.map(async stop => stop()));
});

type Fleet = {home: string; state: string; agents: Record<string, TestAgent>; running: Record<string, RunningAgent>};

let fleetPromise: Promise<Fleet> | undefined;
async function fleet(): Promise<Fleet> {
	fleetPromise ??= (async () => {
		const home = await createController();
		// Where the scripts keep what they did: a restarted host's health check passes.
		const state = temporaryDirectory('xi-exec-runbook-state-');
		const agents: Record<string, TestAgent> = {};
		const running: Record<string, RunningAgent> = {};
		for (const name of names) {
			const sick = name === 'web2' || name === 'web3';
			agents[name] = await enrolAgent(home, {name, port: freePort(), tags: ['role=web', `site=${name === 'web4' ? 'paris' : 'london'}`], scripts: {
				'health-check': installScript('health-check', sick ? `#!/bin/sh\nif [ -f ${state}/${name}.restarted ]; then echo healthy; else echo "unhealthy: 502 from upstream"; exit 1; fi\n` : '#!/bin/sh\necho healthy\n'),
				'restart-web': installScript('restart-web', `#!/bin/sh\ntouch ${state}/${name}.restarted\necho restarted\n`),
				flaky: installScript('flaky', name === 'web2' || name === 'web4' ? '#!/bin/sh\necho broken >&2\nexit 3\n' : '#!/bin/sh\necho fine\n'),
				hello: installFixture('hello.sh'),
				'keep-going': installFixture('leave-grandchild.sh'),
				'wait-for-go': installScript('wait-for-go', `#!/bin/sh\necho "waiting $$"\nwhile [ ! -f ${state}/go ]; do sleep 0.05; done\necho went\n`),
				'wait-for-gate': installScript('wait-for-gate', `#!/bin/sh\necho "waiting for $1"\nwhile [ ! -f ${state}/$1 ]; do sleep 0.05; done\necho "$1 opened"\n`),
			}});
		}

		await Promise.all(names.map(async name => {
			running[name] = await startAgent(agents[name]!);
			stops.push(running[name]!.stop);
		}));
		mkdirSync(join(home, 'runbooks'), {mode: 0o700});
		return {home, state, agents, running};
	})();
	return fleetPromise;
}

function writeRunbook(home: string, name: string, text: string): void {
	writeFileSync(join(home, 'runbooks', `${name}.yaml`), text);
}

const cli = async (home: string, args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: home});

type StepDocument = {name: string; status: string; code?: string; requestId: string | null; counts: Record<string, number>; hosts: {ok: string[]; failed: string[]}; reason: string | null; carriedFrom?: string};
type RunbookRunDocument = {id: string; runbook: string; caller: string; status: string; reason: string | null; fileSha256: string; resumeOf: string | null; steps: StepDocument[]; notRun: Array<{step: string; reason: string}>; parameters: Record<string, unknown>};
type RunJson = {requestId: string; parent?: {runbook: string; step: string}; results: Array<{agent: string; status: string; stdout: string}>};

const incident = `description: restart web where the health check fails, then check those again
parameters:
  site: {schema: {enum: [london, paris]}, default: london}
steps:
  - name: check
    script: health-check
    on: {tags: {role: web, site: {param: site}}}
    onFailure: continue
  - name: restart
    script: restart-web
    on: {failedIn: check}
    batch: 1
  - name: recheck
    script: health-check
    on: {failedIn: check}
`;

test.serial('the incident runbook: restart only where the check failed, then check those again', async t => {
	const {home, agents} = await fleet();
	writeRunbook(home, 'incident', incident);
	const result = await cli(home, ['runbook', 'run', 'incident', '--json']);
	t.is(result.code, 0, result.stderr + result.stdout);
	const document = JSON.parse(result.stdout) as RunbookRunDocument;
	t.is(document.status, 'ok');
	t.deepEqual(document.parameters, {site: 'london'});
	t.deepEqual(document.steps.map(step => [step.name, step.status, step.hosts, step.counts]), [
		['check', 'failed', {ok: ['web1'], failed: ['web2', 'web3']}, {ok: 1, failed: 2}],
		['restart', 'ok', {ok: ['web2', 'web3'], failed: []}, {ok: 2}],
		['recheck', 'ok', {ok: ['web2', 'web3'], failed: []}, {ok: 2}],
	]);
	// Each step is a normal run in the history, with its own request id, naming its runbook run and step.
	const summaries = (JSON.parse((await cli(home, ['runs', '--json'])).stdout) as {runs: Array<{requestId: string; parent?: {runbook: string; step: string}}>}).runs;
	for (const step of document.steps) {
		const shown = await cli(home, ['runs', 'show', step.requestId!, '--json']);
		t.is(shown.code, 0, shown.stderr);
		const run = JSON.parse(shown.stdout) as RunJson;
		t.deepEqual(run.results.map(each => each.agent), [...step.hosts.ok, ...step.hosts.failed].sort());
		t.deepEqual(run.parent, {runbook: document.id, step: step.name});
		t.deepEqual(summaries.find(summary => summary.requestId === step.requestId)?.parent, {runbook: document.id, step: step.name});
		const plain = await cli(home, ['runs', 'show', step.requestId!]);
		t.is(plain.stdout.split('\n')[1], `step ${step.name} of runbook run ${document.id} (xi-exec runbooks show ${document.id})`);
	}

	// A run that is no runbook's step names no parent.
	const single = JSON.parse((await cli(home, ['run', 'hello', '--on', 'web1', '--json'])).stdout) as RunJson;
	t.false('parent' in (JSON.parse((await cli(home, ['runs', 'show', single.requestId, '--json'])).stdout) as object));
	const runsText = (await cli(home, ['runs'])).stdout;
	t.regex(runsText, new RegExp(`  ${document.steps[1]!.requestId!} .*  \\(step restart of runbook run ${document.id}\\)$`, 'm'));
	t.regex(runsText, new RegExp(`  ${single.requestId} .*ok$`, 'm'));

	// The same document from the history, plain and JSON.
	const again = await cli(home, ['runbooks', 'show', document.id, '--json']);
	t.deepEqual(JSON.parse(again.stdout), document);
	const listed = await cli(home, ['runbooks']);
	t.true(listed.stdout.includes(`${document.id}  incident  ok  2/3 steps ok`), listed.stdout);
	const audit = readFileSync(controllerPaths(home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(audit.filter(record => record['runbookRun'] === document.id).map(record => record['event']), ['runbook.start', 'runbook.end']);
	t.deepEqual(audit.filter(record => record['event'] === 'run.request' && document.steps.some(step => step.requestId === record['requestId'])).map(record => record['parent']), document.steps.map(step => ({runbook: document.id, step: step.name})));

	// Both sides' trails agree over every step: each host's log holds each step's execution the controller recorded.
	const agentLogs = ['web1', 'web2', 'web3'].map(name => agentPaths(agents[name]!.home).auditLog);
	await waitFor(() => (document.steps.every(step => [...step.hosts.ok, ...step.hosts.failed].every(name => readFileSync(agentPaths(agents[name]!.home).auditLog, 'utf8').includes(`"requestId":"${step.requestId!}"`))) ? true : undefined), 'each host\'s records of the steps');
	const cross = await cli(home, ['audit', 'verify', '--cross', ...agentLogs]);
	t.is(cross.code, 0, cross.stdout + cross.stderr);
	t.regex(cross.stdout, /^cross: ok, 3 agent logs agree with the controller$/m);
	// A step's execution cut from one host's log is named.
	const cut = join(agents['web2']!.home, 'cut.jsonl');
	writeFileSync(cut, readFileSync(agentLogs[1]!, 'utf8').split('\n').filter(line => !(line.includes('"event":"run.finish"') && line.includes(document.steps[1]!.requestId!))).join('\n'));
	const broken = await cli(home, ['audit', 'verify', '--cross', agentLogs[0]!, cut, agentLogs[2]!]);
	t.is(broken.code, 1);
	t.regex(broken.stdout, new RegExp(`the controller recorded ok on web2 for request ${document.steps[1]!.requestId!}, but web2's log has 0 executions of it`));
	// Logs named without --cross are refused, never silently left unchecked.
	const bare = await cli(home, ['audit', 'verify', agentLogs[0]!]);
	t.is(bare.stderr, `xi-exec: audit verify checks agent logs only with --cross: xi-exec audit verify --cross ${agentLogs[0]!} (USAGE)\n`);
});

test.serial('a step over its failure threshold stops the runbook with exact counts; the steps after it do not run', async t => {
	const {home} = await fleet();
	writeRunbook(home, 'rollout', `steps:
  - {name: flaky, script: flaky, on: role=web, batch: 1, maxFailures: 0}
  - {name: after, script: hello, on: web1}
`);
	const result = await cli(home, ['runbook', 'run', 'rollout', '--json']);
	t.is(result.code, 1, result.stderr);
	const document = JSON.parse(result.stdout) as RunbookRunDocument;
	t.is(document.status, 'failed');
	t.deepEqual(document.steps.map(step => [step.name, step.status, step.counts]), [['flaky', 'failed', {ok: 1, failed: 1, skipped: 2}]]);
	t.is(document.reason, 'step flaky failed (1 of 4 hosts failed, over maxFailures 0)');
	t.deepEqual(document.notRun, [{step: 'after', reason: 'step flaky failed (1 of 4 hosts failed, over maxFailures 0)'}]);

	const plain = await cli(home, ['runbook', 'run', 'rollout']);
	t.is(plain.code, 1);
	t.regex(plain.stdout, /^-- flaky: failed: 1 of 4 hosts failed, over maxFailures 0 \(1 ok · 1 failed · 2 skipped\)$/m, plain.stdout);
	t.regex(plain.stdout, /^-- after: not run \(step flaky failed \(1 of 4 hosts failed, over maxFailures 0\)\)$/m);
	t.regex(plain.stdout, /^runbook rollout: failed \(step flaky failed \(1 of 4 hosts failed, over maxFailures 0\)\) {3}run [\da-f-]{36}\n$/m);
});

test.serial('an invalid runbook is refused whole, every problem listed, before anything is dialled', async t => {
	const {home, running} = await fleet();
	writeRunbook(home, 'broken', `parameters:
  site: {schema: {enum: [london, paris]}}
steps:
  - {name: a, script: health-check, on: [web1, web9]}
  - {name: b, script: no-such-script, on: web2}
  - {name: c, script: hello, on: role=db}
`);
	const requestsBefore = names.map(name => running[name]!.lines.length);
	const runsBefore = readdirSync(join(home, 'runs')).length;
	const result = await cli(home, ['runbook', 'run', 'broken', '--param', 'site=rome']);
	t.is(result.code, 2);
	t.is(result.stderr, 'xi-exec: The parameters of runbook broken are refused; nothing was run:\n  - parameter site: "rome" must be equal to one of the allowed values ("london", "paris") (RUNBOOK_INVALID)\n');
	const second = await cli(home, ['runbook', 'run', 'broken', '--param', 'site=paris']);
	t.is(second.code, 2);
	t.is(second.stderr, [
		'xi-exec: Runbook broken cannot run as it is; nothing was run:',
		'  - step a: unknown host web9 (not in the registry; `xi-exec agents` lists them)',
		'  - step b: unknown script no-such-script on web2 (not on its allowlist)',
		'  - step c: on role=db matches no registered agent (RUNBOOK_INVALID)',
		'',
	].join('\n'));
	// No run was made; the agents were only asked what they run (a describe), never to run anything.
	t.is(readdirSync(join(home, 'runs')).length, runsBefore);
	for (const [index, name] of names.entries()) {
		const events = running[name]!.lines.slice(requestsBefore[index]).map(line => (JSON.parse(line) as {event: string}).event);
		t.false(events.some(event => event.startsWith('run.')), `${name}: ${events.join(', ')}`);
	}

	const audit = readFileSync(controllerPaths(home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.is(audit.filter(record => record['event'] === 'runbook.refused' && record['runbook'] === 'broken').length, 2);
});

/** Processes anywhere on this host whose environment carries the request id (every script's does). */
function processesOfRun(requestId: string): number[] {
	return readdirSync('/proc').filter(entry => /^\d+$/.test(entry)).flatMap(entry => {
		try {
			const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
			return readFileSync(join('/proc', entry, 'environ'), 'latin1').split('\0').includes(`XI_EXEC_REQUEST_ID=${requestId}`) && !/^\d+ \(.*\) Z /.test(stat) ? [Number(entry)] : [];
		} catch {
			return [];
		}
	});
}

test.serial('Ctrl-C mid-step: the step is cancelled on every host, nothing of it is left, and nothing runs after it', async t => {
	const {home} = await fleet();
	writeRunbook(home, 'long', `steps:
  - {name: first, script: hello, on: web1}
  - {name: long, script: keep-going, on: [web1, web2, web3]}
  - {name: cleanup, script: hello, on: web1, when: always}
`);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'long'], {XI_EXEC_HOME: home});
	const requestId = await waitFor(() => /^== long: keep-going .* request ([\da-f-]{36})$/m.exec(run.output().stdout)?.[1], 'the long step started', {state: () => run.output()});
	await waitFor(() => ([...run.output().stdout.matchAll(/(?:script|grandchild) \d+/g)].length === 6 ? true : undefined), 'the scripts and grandchildren on three hosts', {state: () => run.output()});
	t.true(processesOfRun(requestId).length >= 6);
	run.child.kill('SIGINT');
	const result = await run.done;
	t.is(result.code, 130, result.stderr);
	t.deepEqual(processesOfRun(requestId), []);
	t.regex(result.stdout, /^-- long: cancelled: cancelled \(3 cancelled\)$/m);
	t.regex(result.stdout, /^-- cleanup: not run \(the runbook was cancelled\)$/m);
	const id = /^runbook long, run ([\da-f-]{36})$/m.exec(result.stdout)![1]!;
	const document = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument;
	t.is(document.status, 'cancelled');
	t.deepEqual(document.steps.map(step => [step.name, step.status]), [['first', 'ok'], ['long', 'cancelled']]);
});

test.serial('runbook cancel from another process mid-step: the step is cancelled on every host, nothing of it is left, nothing runs after it', async t => {
	const {home} = await fleet();
	writeRunbook(home, 'long-elsewhere', `steps:
  - {name: first, script: hello, on: web1}
  - {name: long, script: keep-going, on: [web1, web2, web3]}
  - {name: cleanup, script: hello, on: web1, when: always}
`);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'long-elsewhere'], {XI_EXEC_HOME: home});
	const requestId = await waitFor(() => /^== long: keep-going .* request ([\da-f-]{36})$/m.exec(run.output().stdout)?.[1], 'the long step started', {state: () => run.output()});
	await waitFor(() => ([...run.output().stdout.matchAll(/(?:script|grandchild) \d+/g)].length === 6 ? true : undefined), 'the scripts and grandchildren on three hosts', {state: () => run.output()});
	const id = /^runbook long-elsewhere, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	// `xi-exec cancel` takes a runbook run's id as well as a run's.
	const cancelled = await cli(home, ['cancel', id]);
	t.is(cancelled.code, 0, cancelled.stderr);
	// Each host is cancelled by this process or, when the process running the runbook heard of the cancel first, by that one (then `not running` here).
	t.regex(cancelled.stdout, new RegExp(`^Runbook run ${id}: cancel asked; the controller running it cancels the step in flight and runs nothing after it\\.\\n {2}step long \\(request ${requestId}\\): web1 (?:cancelled|not running), web2 (?:cancelled|not running), web3 (?:cancelled|not running)\\n$`));
	const result = await run.done;
	t.is(result.code, 130, result.stderr);
	t.deepEqual(processesOfRun(requestId), []);
	t.regex(result.stdout, /^-- long: cancelled: cancelled \(3 cancelled\)$/m);
	t.regex(result.stdout, /^-- cleanup: not run \(the runbook was cancelled\)$/m);
	t.regex(result.stdout, new RegExp(`^runbook long-elsewhere: cancelled \\(by \\S+ during step long\\) {3}run ${id}$`, 'm'));
	const document = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument & {cancel: {by: string; requestedAt: string | null; during: string[]; before: string | null}};
	t.is(document.status, 'cancelled');
	t.deepEqual(document.steps.map(step => [step.name, step.status]), [['first', 'ok'], ['long', 'cancelled']]);
	t.deepEqual(document.notRun, [{step: 'cleanup', reason: 'the runbook was cancelled'}]);
	t.deepEqual({...document.cancel, requestedAt: typeof document.cancel.requestedAt}, {by: document.caller, requestedAt: 'string', during: ['long'], before: null});
	const audit = readFileSync(controllerPaths(home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(audit.filter(record => record['event'] === 'runbook.cancel' && record['runbookRun'] === id).map(record => record['steps']), [[{step: 'long', requestId, stillRunning: ['web1', 'web2', 'web3'], unreachable: []}]]);
	t.is((await cli(home, ['runbook', 'cancel', id])).stdout, `Runbook run ${id} already ended (cancelled): nothing to cancel.\n`);
});

test.serial('a cancel that comes between steps stops the runbook before the next step; --resume runs from it', async t => {
	const {home, state, running} = await fleet();
	writeRunbook(home, 'between', `steps:
  - {name: one, script: wait-for-gate, on: web1, args: [between-1]}
  - {name: two, script: hello, on: web2}
  - {name: three, script: hello, on: web3, when: always}
`);
	const finishedBefore = running['web1']!.lines.length;
	const run = spawnCli(controllerCli, ['runbook', 'run', 'between'], {XI_EXEC_HOME: home});
	const requestId = await waitFor(() => /^== one: wait-for-gate .* request ([\da-f-]{36})$/m.exec(run.output().stdout)?.[1], 'step one started', {state: () => run.output()});
	await waitFor(() => (run.output().stdout.includes('waiting for between-1') ? true : undefined), 'step one waiting', {state: () => run.output()});
	const id = /^runbook between, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	// Held still while step one ends on its host, then told to cancel: it hears of step one's end only after the cancel.
	run.child.kill('SIGSTOP');
	try {
		writeFileSync(join(state, 'between-1'), '');
		await waitFor(() => (logEvents(running['web1']!, 'run.finish', finishedBefore).some(entry => entry['requestId'] === requestId) ? true : undefined), 'step one finished on web1');
		const cancelled = await cli(home, ['runbook', 'cancel', id, '--json']);
		t.is(cancelled.code, 0, cancelled.stderr);
		t.deepEqual(JSON.parse(cancelled.stdout), {id, status: 'cancelling', steps: [{step: 'one', requestId, answers: [{agent: 'web1', outcome: 'not running'}]}]});
	} finally {
		run.child.kill('SIGCONT');
	}

	const result = await run.done;
	t.is(result.code, 130, result.stderr);
	t.regex(result.stdout, /^-- one: ok/m);
	t.regex(result.stdout, new RegExp(`^runbook between: cancelled \\(by \\S+ before step two\\) {3}run ${id}$`, 'm'));
	const document = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument & {cancel: {during: string[]; before: string | null}};
	t.deepEqual(document.steps.map(step => [step.name, step.status]), [['one', 'ok']]);
	t.deepEqual(document.notRun.map(step => step.step), ['two', 'three']);
	t.deepEqual([document.cancel.during, document.cancel.before], [[], 'two']);
	const shown = await cli(home, ['runbooks', 'show', id]);
	t.true(shown.stdout.includes(`cancelled by ${document.caller} before step two; \`xi-exec runbook run --resume ${id}\` continues it\n`), shown.stdout);

	const resumed = await cli(home, ['runbook', 'run', '--resume', id, '--json']);
	t.is(resumed.code, 0, resumed.stderr);
	t.deepEqual((JSON.parse(resumed.stdout) as RunbookRunDocument).steps.map(step => [step.name, step.status, step.carriedFrom ?? null]), [['one', 'ok', id], ['two', 'ok', null], ['three', 'ok', null]]);
});

test.serial('a controller SIGKILLed mid-runbook leaves a readable record; --resume continues from the step in flight', async t => {
	const {home, state} = await fleet();
	writeRunbook(home, 'resumable', `parameters:
  who: {default: ops}
steps:
  - {name: one, script: hello, on: web1, args: [{param: who}]}
  - {name: two, script: wait-for-go, on: [web1, web2]}
  - {name: three, script: hello, on: web3}
`);
	const run = spawnCli(controllerCli, ['runbook', 'run', 'resumable', '--param', 'who=alice'], {XI_EXEC_HOME: home});
	await waitFor(() => ([...run.output().stdout.matchAll(/waiting \d+/g)].length === 2 ? true : undefined), 'step two waiting on both hosts', {state: () => run.output()});
	const id = /^runbook resumable, run ([\da-f-]{36})$/m.exec(run.output().stdout)![1]!;
	run.child.kill('SIGKILL');
	await run.done;

	const killed = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument & {steps: Array<StepDocument & {status: string}>};
	t.deepEqual(killed.steps.map(step => [step.name, step.status]), [['one', 'ok'], ['two', 'running']]);
	const inFlight = killed.steps[1]!;
	t.regex(inFlight.requestId!, /^[\da-f-]{36}$/);
	// The step in flight is a partial run in the history too.
	t.is((await cli(home, ['runs', 'show', inFlight.requestId!, '--json'])).code, 0);

	// Until the killed controller's lock goes stale, the run reads as running and is not resumed twice.
	const early = await cli(home, ['runbook', 'run', '--resume', id]);
	if (early.code === 2) {
		t.regex(early.stderr, /still running in another process.*\(RUNBOOK_RUNNING\)\n$/s);
	}

	for (;;) {
		const shown = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument;
		if (shown.status === 'interrupted') {
			t.is(shown.steps[1]!.reason, 'in flight when the controller stopped');
			break;
		}

		await new Promise(resolve => {
			setTimeout(resolve, 500);
		});
	}

	// A cancel now ends the record cancelled (the agents ended step two's scripts when their controller went).
	const cancelled = await cli(home, ['runbook', 'cancel', id]);
	t.is(cancelled.code, 0, cancelled.stderr);
	t.is(cancelled.stdout, `Runbook run ${id} was not running (its controller stopped, or it waited for approval): its record now ends cancelled; \`xi-exec runbook run --resume ${id}\` continues it.\n  step two (request ${inFlight.requestId!}): web1 not running, web2 not running\n`);
	t.deepEqual(processesOfRun(inFlight.requestId!), []);
	const ended = JSON.parse((await cli(home, ['runbooks', 'show', id, '--json'])).stdout) as RunbookRunDocument & {cancel: {during: string[]}};
	t.deepEqual([ended.status, ended.reason, ended.cancel.during], ['cancelled', 'the runbook was cancelled after its controller stopped', ['two']]);

	writeFileSync(join(state, 'go'), '');
	const resumed = await cli(home, ['runbook', 'run', '--resume', id, '--json']);
	t.is(resumed.code, 0, resumed.stderr);
	const document = JSON.parse(resumed.stdout) as RunbookRunDocument;
	t.is(document.resumeOf, id);
	t.deepEqual(document.parameters, {who: 'alice'});
	t.deepEqual(document.steps.map(step => [step.name, step.status, step.carriedFrom ?? null]), [['one', 'ok', id], ['two', 'ok', null], ['three', 'ok', null]]);
	t.not(document.steps[1]!.requestId, inFlight.requestId);
	t.is(document.steps[0]!.requestId, killed.steps[0]!.requestId);
	t.true(existsSync(join(state, 'go')));
});

test.serial('--resume refuses a runbook file changed since the run, unless --changed-file; --from picks the step', async t => {
	const {home} = await fleet();
	writeRunbook(home, 'rollout', `steps:
  - {name: flaky, script: flaky, on: role=web, maxFailures: 0}
  - {name: after, script: hello, on: web1}
`);
	const first = JSON.parse((await cli(home, ['runbook', 'run', 'rollout', '--json'])).stdout) as RunbookRunDocument;
	t.is(first.status, 'failed');
	appendFileSync(join(home, 'runbooks', 'rollout.yaml'), '# edited\n');
	const refused = await cli(home, ['runbook', 'run', '--resume', first.id]);
	t.is(refused.code, 2);
	t.regex(refused.stderr, /^xi-exec: runbooks\/rollout\.yaml changed since run [\da-f-]{36} \(its SHA-256 was [\da-f]{12}…, it is [\da-f]{12}… now\); resume with --changed-file to run the file as it is now\. \(RUNBOOK_CHANGED\)\n$/);
	const resumed = await cli(home, ['runbook', 'run', '--resume', first.id, '--changed-file', '--from', 'after', '--json']);
	t.is(resumed.code, 0, resumed.stderr);
	const document = JSON.parse(resumed.stdout) as RunbookRunDocument;
	t.deepEqual(document.steps.map(step => [step.name, step.status]), [['flaky', 'failed'], ['after', 'ok']]);
	t.not(document.fileSha256, first.fileSha256);
});

/** Whether a run in the history has streamed `text` yet (a `--json` run prints nothing until it ends). */
function someRunSays(home: string, text: string): boolean {
	const directory = join(home, 'runs');
	return existsSync(directory) && readdirSync(directory).some(file => readFileSync(join(directory, file), 'utf8').includes(text));
}

test.serial('a step runs on the hosts the runbook was checked against: one paired since is not added, one unpaired since refuses the step; --resume checks again', async t => {
	const {home, state} = await fleet();
	const spare = async (name: string) => {
		const agent = await enrolAgent(home, {name, port: freePort(), tags: ['role=spare'], scripts: {hello: installFixture('hello.sh')}});
		const started = await startAgent(agent);
		stops.push(started.stop);
	};

	await spare('spare1');
	writeRunbook(home, 'pinned', `steps:
  - {name: hold, script: wait-for-gate, on: web1, args: [{param: gate}]}
  - {name: spread, script: hello, on: role=spare}
parameters:
  gate: {}
`);
	const shown = JSON.parse((await cli(home, ['runbook', 'show', 'pinned', '--param', 'gate=pin-1', '--json'])).stdout) as {stages: Array<{steps: Array<{name: string; targets: string[]}>}>};
	t.deepEqual(shown.stages[1]!.steps[0]!.targets, ['spare1']);

	// A host paired (and matching role=spare) while the runbook runs is not asked.
	const first = spawnCli(controllerCli, ['runbook', 'run', 'pinned', '--param', 'gate=pin-1', '--json'], {XI_EXEC_HOME: home});
	await waitFor(() => (someRunSays(home, 'waiting for pin-1') ? true : undefined), 'step hold waiting', {state: () => first.output()});
	await spare('spare2');
	t.true((await cli(home, ['agents', '--on', 'role=spare'])).stdout.includes('spare2'));
	writeFileSync(join(state, 'pin-1'), '');
	const ran = await first.done;
	t.is(ran.code, 0, ran.stderr);
	const document = JSON.parse(ran.stdout) as RunbookRunDocument;
	t.deepEqual(document.steps.map(step => [step.name, step.status, step.hosts.ok]), [['hold', 'ok', ['web1']], ['spread', 'ok', ['spare1']]]);
	const spreadRun = JSON.parse((await cli(home, ['runs', 'show', document.steps[1]!.requestId!, '--json'])).stdout) as RunJson;
	t.deepEqual(spreadRun.results.map(result => result.agent), ['spare1']);

	// A host unpaired while the runbook runs: the step is refused by name and nothing of it runs.
	const second = spawnCli(controllerCli, ['runbook', 'run', 'pinned', '--param', 'gate=pin-2', '--json'], {XI_EXEC_HOME: home});
	await waitFor(() => (someRunSays(home, 'waiting for pin-2') ? true : undefined), 'step hold waiting', {state: () => second.output()});
	const unpaired = await cli(home, ['unpair', 'spare1']);
	t.is(unpaired.code, 0, unpaired.stderr);
	writeFileSync(join(state, 'pin-2'), '');
	const refused = await second.done;
	t.is(refused.code, 1, refused.stderr);
	const stopped = JSON.parse(refused.stdout) as RunbookRunDocument;
	const reason = `spare1 was chosen when runbook run ${stopped.id} was checked and is no longer in the registry (unpaired since), so nothing was run; \`xi-exec runbook run --resume ${stopped.id}\` checks the runbook against the fleet as it is now.`;
	t.deepEqual(stopped.steps.map(step => [step.name, step.status, step.code ?? null, step.reason]), [['hold', 'ok', null, null], ['spread', 'error', 'AGENT_UNKNOWN', reason]]);
	t.is(stopped.status, 'failed');
	const audit = readFileSync(controllerPaths(home).auditLog, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(audit.filter(record => record['requestId'] === stopped.steps[1]!.requestId).map(record => [record['event'], record['code']]), [['run.refused', 'AGENT_UNKNOWN']]);

	// Resumed, the runbook is checked against the fleet as it is now: spread runs on spare2 alone, and says spare1 is gone.
	const resumed = await cli(home, ['runbook', 'run', '--resume', stopped.id, '--json']);
	t.is(resumed.code, 0, resumed.stderr);
	t.is(resumed.stderr, `xi-exec: note: step spread: --on role=spare now matches other hosts than when run ${stopped.id} was checked (removed spare1); it runs on the 1 it matches now.\n`);
	t.deepEqual((JSON.parse(resumed.stdout) as RunbookRunDocument).steps.map(step => [step.name, step.status, step.hosts.ok, step.carriedFrom ?? null]), [['hold', 'ok', ['web1'], stopped.id], ['spread', 'ok', ['spare2'], null]]);
});
