import test from 'ava';
import {XiError} from '../../source/errors.js';
import type {RunStatus} from '../../source/protocol/frames.js';
import {executeRunbook, type RunbookEvent, type StepControl, type StepRunRequest, type StepRunResult} from '../../source/runbooks/execute.js';
import type {RunbookRunLine} from '../../source/runbooks/run-record.js';
import {agentOf, planOf, reachable, runbookOf} from './fixtures.js';

const names = ['web1', 'web2', 'web3', 'web4'];
const agents = names.map(name => agentOf(name, {role: 'web'}));
const discovered = names.map(name => reachable(name, ['health-check', 'restart-web', 'notify']));

function setUp(text: string) {
	const runbook = runbookOf(text, 'incident');
	return {runbook, plan: planOf(runbook, {agents, discovered})};
}

/** A fleet where each step's hosts end as `statuses` says (`step:host` → status), ok otherwise. */
function fakeFleet(statuses: Record<string, RunStatus>, options: {refuse?: string; gated?: string; approved?: boolean; onStart?: (request: StepRunRequest, cancel: AbortSignal) => Promise<void>} = {}) {
	const requests: StepRunRequest[] = [];
	let counter = 0;
	const runStep = async (request: StepRunRequest, control: StepControl): Promise<StepRunResult> => {
		requests.push(request);
		if (options.refuse === request.step.name) {
			throw new XiError('OUT_OF_SCOPE', 'Refused before running anything: token contractor may not reach web4.');
		}

		// A step the approvals policy names: it says it waits, then (not approved yet, --no-wait) ends waiting.
		if (options.gated === request.step.name) {
			const approval = {id: request.approval ?? 'ap1', needs: '1 of: token:lead-*', expiresAt: '1970-01-01T00:30:00.000Z'};
			control.waiting(approval);
			if (!options.approved) {
				return {waiting: approval};
			}
		}

		await options.onStart?.(request, control.cancel);
		return {results: request.hosts.map(agent => ({agent, status: control.cancel.aborted ? 'cancelled' : statuses[`${request.step.name}:${agent}`] ?? 'ok'})), cancelled: control.cancel.aborted};
	};

	return {requests, runStep, newRequestId: () => `r${++counter}`};
}

const incident = `steps:
  - {name: check, script: health-check, on: role=web, onFailure: continue}
  - {name: restart, script: restart-web, on: {failedIn: check}, maxFailures: 0}
  - {name: recheck, script: health-check, on: {failedIn: check}}
  - {name: notify, script: notify, on: web1, when: always}
`;

async function execute(text: string, fleet: ReturnType<typeof fakeFleet>, cancel = new AbortController().signal) {
	const lines: RunbookRunLine[] = [];
	const {runbook, plan} = setUp(text);
	const result = await executeRunbook({runbook, plan}, {runStep: fleet.runStep, write: line => lines.push(line), now: () => new Date(0), newRequestId: fleet.newRequestId, cancel, cancelledBy: () => 'op@host'});
	return {result, lines};
}

test('the incident flow: restart where the check failed, then check those again', async t => {
	const fleet = fakeFleet({'check:web2': 'failed', 'check:web3': 'timeout'});
	const {result, lines} = await execute(incident, fleet);
	t.deepEqual(fleet.requests.map(request => [request.step.name, request.requestId, request.on, request.hosts]), [
		['check', 'r1', ['role=web'], names],
		['restart', 'r2', ['web2', 'web3'], ['web2', 'web3']],
		['recheck', 'r3', ['web2', 'web3'], ['web2', 'web3']],
		['notify', 'r4', ['web1'], ['web1']],
	]);
	t.is(result.status, 'ok');
	t.deepEqual(result.outcomes.get('check')?.counts, {ok: 2, failed: 1, timeout: 1});
	t.deepEqual(lines.map(line => (line.type === 'step-started' || line.type === 'step-finished' ? `${line.type} ${line.step}` : line.type)), [
		'step-started check', 'step-finished check', 'step-started restart', 'step-finished restart', 'step-started recheck', 'step-finished recheck', 'step-started notify', 'step-finished notify', 'end',
	]);
});

test('a step with no host to take is skipped without a run, and the runbook goes on', async t => {
	const fleet = fakeFleet({});
	const {result} = await execute(incident, fleet);
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check', 'notify']);
	t.deepEqual(result.outcomes.get('restart'), {status: 'skipped', counts: {}, hosts: {ok: [], failed: []}, reason: 'no host failed in step check'});
	t.is(result.status, 'ok');
});

test('a step over its failure threshold stops the runbook with exact counts; always steps still run', async t => {
	const fleet = fakeFleet({'check:web2': 'failed', 'check:web3': 'failed', 'restart:web2': 'failed'});
	const {result, lines} = await execute(incident, fleet);
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check', 'restart', 'notify']);
	t.deepEqual(result.outcomes.get('restart')?.counts, {failed: 1, ok: 1});
	t.deepEqual({status: result.status, reason: result.reason, notRun: result.notRun}, {
		status: 'failed',
		reason: 'step restart failed (1 of 2 hosts failed, over maxFailures 0)',
		notRun: [{step: 'recheck', reason: 'step restart failed (1 of 2 hosts failed, over maxFailures 0)'}],
	});
	t.deepEqual(lines.at(-1), {type: 'end', status: 'failed', reason: 'step restart failed (1 of 2 hosts failed, over maxFailures 0)', notRun: [{step: 'recheck', reason: 'step restart failed (1 of 2 hosts failed, over maxFailures 0)'}], at: '1970-01-01T00:00:00.000Z'});
});

test('a step refused before it runs (a token, a policy) fails with the refusal\'s code', async t => {
	const fleet = fakeFleet({}, {refuse: 'check'});
	const {result} = await execute(incident, fleet);
	t.deepEqual(result.outcomes.get('check'), {status: 'error', requestId: 'r1', counts: {}, hosts: {ok: [], failed: []}, reason: 'Refused before running anything: token contractor may not reach web4.', code: 'OUT_OF_SCOPE'});
	// onFailure: continue: the refusal is continued; restart has no host.
	t.is(result.status, 'ok');
});

test('a cancel during a step: the step ends cancelled and nothing runs after it, always steps included', async t => {
	const cancel = new AbortController();
	const fleet = fakeFleet({'check:web2': 'failed'}, {async onStart(request) {
		if (request.step.name === 'restart') {
			cancel.abort();
		}
	}});
	const {result, lines} = await execute(incident, fleet, cancel.signal);
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check', 'restart']);
	t.is(result.outcomes.get('restart')?.status, 'cancelled');
	t.deepEqual(lines.at(-1), {type: 'end', status: 'cancelled', reason: 'the runbook was cancelled', notRun: [{step: 'recheck', reason: 'the runbook was cancelled'}, {step: 'notify', reason: 'the runbook was cancelled'}], at: '1970-01-01T00:00:00.000Z', cancelledBy: 'op@host'});
});

test('a cancel asked from elsewhere between steps: checked before the next step, which is not dialled', async t => {
	const fleet = fakeFleet({'check:web2': 'failed'});
	const {runbook, plan} = setUp(incident);
	const cancel = new AbortController();
	const lines: RunbookRunLine[] = [];
	let by: string | undefined;
	// The request lands once check has ended; only checkCancel (the record's watcher) sees it.
	const checkCancel = () => {
		if (lines.some(line => line.type === 'step-finished' && line.step === 'check') && !cancel.signal.aborted) {
			by = 'alice@elsewhere';
			cancel.abort();
		}
	};

	const result = await executeRunbook({runbook, plan}, {runStep: fleet.runStep, write: line => lines.push(line), now: () => new Date(0), newRequestId: fleet.newRequestId, cancel: cancel.signal, cancelledBy: () => by, checkCancel});
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check']);
	t.is(result.outcomes.get('check')?.status, 'failed');
	t.deepEqual(lines.at(-1), {type: 'end', status: 'cancelled', reason: 'the runbook was cancelled', notRun: ['restart', 'recheck', 'notify'].map(step => ({step, reason: 'the runbook was cancelled'})), at: '1970-01-01T00:00:00.000Z', cancelledBy: 'alice@elsewhere'});
});

test('a cancel that lands while a step\'s start is written: the step\'s run gets the signal already aborted', async t => {
	const fleet = fakeFleet({});
	const {runbook, plan} = setUp(incident);
	const cancel = new AbortController();
	const lines: RunbookRunLine[] = [];
	const checkCancel = () => {
		if (lines.at(-1)?.type === 'step-started') {
			cancel.abort();
		}
	};

	const result = await executeRunbook({runbook, plan}, {runStep: fleet.runStep, write: line => lines.push(line), now: () => new Date(0), newRequestId: fleet.newRequestId, cancel: cancel.signal, checkCancel});
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check']);
	t.is(result.outcomes.get('check')?.status, 'cancelled');
	t.is(result.status, 'cancelled');
});

test('a parallel group runs its steps at once', async t => {
	let running = 0;
	let most = 0;
	let release: () => void = () => undefined;
	const both = new Promise<void>(resolve => {
		release = resolve;
	});
	const fleet = fakeFleet({}, {async onStart() {
		running++;
		most = Math.max(most, running);
		if (running === 2) {
			release();
		}

		await both;
		running--;
	}});
	const {result} = await execute('steps:\n  - parallel:\n      - {name: a, script: notify, on: web1}\n      - {name: b, script: notify, on: web2}\n', fleet);
	t.is(most, 2);
	t.is(result.status, 'ok');
});

const gatedRunbook = `steps:
  - {name: check, script: health-check, on: role=web}
  - {name: restart, script: restart-web, on: web2}
  - {name: notify, script: notify, on: web1, when: always}
`;

test('a step that needs approval and does not wait (--no-wait): it ends waiting, the runbook pauses, always steps wait too', async t => {
	const fleet = fakeFleet({}, {gated: 'restart'});
	const {runbook, plan} = setUp(gatedRunbook);
	const lines: RunbookRunLine[] = [];
	const events: RunbookEvent[] = [];
	const result = await executeRunbook({runbook, plan}, {runStep: fleet.runStep, write: line => lines.push(line), now: () => new Date(0), newRequestId: fleet.newRequestId, cancel: new AbortController().signal, emit: event => events.push(event)});
	const approval = {id: 'ap1', needs: '1 of: token:lead-*', expiresAt: '1970-01-01T00:30:00.000Z'};
	t.deepEqual(fleet.requests.map(request => request.step.name), ['check', 'restart']);
	t.deepEqual(result.outcomes.get('restart'), {status: 'waiting', requestId: 'r2', counts: {}, hosts: {ok: [], failed: []}, reason: 'waiting for approval: request ap1 (needs 1 of: token:lead-*)', approval});
	t.deepEqual({status: result.status, reason: result.reason, notRun: result.notRun}, {status: 'waiting', reason: 'step restart waits for approval (request ap1)', notRun: [{step: 'notify', reason: 'the runbook waits for approval'}]});
	t.deepEqual(lines.map(line => (line.type === 'end' ? `end ${line.status}` : `${line.type} ${'step' in line ? line.step : ''}`)), ['step-started check', 'step-finished check', 'step-started restart', 'step-waiting restart', 'step-finished restart', 'end waiting']);
	t.deepEqual(lines[3], {type: 'step-waiting', step: 'restart', requestId: 'r2', approval, at: '1970-01-01T00:00:00.000Z'});
	t.deepEqual(events.filter(event => event.type === 'step-waiting'), [{type: 'step-waiting', step: 'restart', requestId: 'r2', approval}]);
});

test('resumed, a step left waiting continues under its request id and approval request; the others get new ids', async t => {
	const fleet = fakeFleet({}, {gated: 'restart', approved: true});
	const {runbook, plan} = setUp(gatedRunbook);
	const check = {status: 'ok' as const, requestId: 'old1', counts: {ok: 4}, hosts: {ok: names, failed: []}};
	const result = await executeRunbook({runbook, plan, from: 1, carried: new Map([['check', check]]), pending: new Map([['restart', {requestId: 'old2', approval: 'ap7'}]])}, {runStep: fleet.runStep, write: () => undefined, now: () => new Date(0), newRequestId: fleet.newRequestId, cancel: new AbortController().signal});
	t.deepEqual(fleet.requests.map(request => [request.step.name, request.requestId, request.approval ?? null]), [['restart', 'old2', 'ap7'], ['notify', 'r1', null]]);
	t.is(result.status, 'ok');
	t.is(result.outcomes.get('restart')?.requestId, 'old2');
});
