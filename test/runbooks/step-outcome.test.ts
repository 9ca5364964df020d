import test from 'ava';
import type {Step} from '../../source/runbooks/model.js';
import {stepOutcome, type StepOutcome} from '../../source/runbooks/step-outcome.js';
import type {RunStatus} from '../../source/protocol/frames.js';

const step = (rollout: Step['rollout'] = {}): Step => ({name: 's', script: 's', on: ['all'], args: [], rollout, onFailure: {type: 'stop'}, when: 'previous.ok'});
const hosts = (statuses: string) => statuses.split(' ').map((status, index) => ({agent: `h${index + 1}`, status: status as RunStatus}));

const rows: Array<{title: string; step: Step; results: string; cancelled?: boolean; outcome: Omit<StepOutcome, 'counts' | 'hosts'>; failed?: string[]}> = [
	{title: 'all ok', step: step(), results: 'ok ok ok', outcome: {status: 'ok'}},
	{title: 'one failure, no maxFailures', step: step(), results: 'ok failed ok', outcome: {status: 'failed', reason: '1 of 3 hosts failed, over maxFailures 0'}, failed: ['h2']},
	{title: 'timeout, denied, error and unreachable are failures', step: step(), results: 'timeout denied error unreachable', outcome: {status: 'failed', reason: '4 of 4 hosts failed, over maxFailures 0'}, failed: ['h1', 'h2', 'h3', 'h4']},
	{title: 'within maxFailures: ok, with the count said', step: step({maxFailures: {value: 1, percent: false}}), results: 'ok failed ok', outcome: {status: 'ok', reason: '1 of 3 hosts failed, within maxFailures 1'}, failed: ['h2']},
	{title: 'maxFailures as a percentage rounds down', step: step({maxFailures: {value: 50, percent: true}}), results: 'failed failed ok', outcome: {status: 'failed', reason: '2 of 3 hosts failed, over maxFailures 1'}, failed: ['h1', 'h2']},
	{title: 'over the threshold with hosts never started', step: step({maxFailures: {value: 1, percent: false}}), results: 'failed failed skipped skipped', outcome: {status: 'failed', reason: '2 of 4 hosts failed, over maxFailures 1'}, failed: ['h1', 'h2']},
	{title: 'a canary refused leaves hosts unstarted: failed', step: step({canary: 1}), results: 'ok skipped skipped', outcome: {status: 'failed', reason: '2 of 3 hosts did not run'}},
	{title: 'ignoreUnreachable: unreachable does not count, but is still a host where it failed', step: step({ignoreUnreachable: true}), results: 'ok unreachable', outcome: {status: 'ok'}, failed: ['h2']},
	{title: 'cancelled', step: step(), results: 'ok cancelled', cancelled: true, outcome: {status: 'cancelled', reason: 'cancelled'}},
	{title: 'cancelled before some hosts started', step: step(), results: 'ok skipped', cancelled: true, outcome: {status: 'cancelled', reason: 'cancelled'}},
	{title: 'a cancel that came once every host had ended: the step as it ended', step: step(), results: 'ok ok', cancelled: true, outcome: {status: 'ok'}},
	{title: 'a cancel after every host ended, one failed: failed', step: step(), results: 'ok failed', cancelled: true, outcome: {status: 'failed', reason: '1 of 2 hosts failed, over maxFailures 0'}, failed: ['h2']},
	{title: 'cancelled from elsewhere (xi-exec cancel of the step\'s request id)', step: step(), results: 'ok cancelled skipped', outcome: {status: 'cancelled', reason: 'cancelled'}},
];

for (const row of rows) {
	test(`stepOutcome: ${row.title}`, t => {
		const results = hosts(row.results);
		const outcome = stepOutcome(row.step, results, {cancelled: row.cancelled ?? false, requestId: 'r1'});
		const {counts, hosts: byOutcome, ...rest} = outcome;
		t.deepEqual(rest, {requestId: 'r1', ...row.outcome});
		t.deepEqual(byOutcome.failed, row.failed ?? []);
		t.deepEqual(byOutcome.ok, results.filter(result => result.status === 'ok').map(result => result.agent));
		t.is(Object.values(counts).reduce((sum, count) => sum + count, 0), results.length);
	});
}
