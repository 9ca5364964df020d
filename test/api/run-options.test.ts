/** A run body's rollout options, as the CLI's flags give them to the run flow; a canary needs a decision. */
import test from 'ava';
import {XiError} from '../../source/errors.js';
import {runControlFromBody, type RunControlBody} from '../../source/api/run-options.js';

test('every option maps to the run flow\'s rollout, as the CLI\'s flags do', async t => {
	const control = runControlFromBody({batch: '20%', maxFailures: 0, ignoreUnreachable: true, canary: 2, canaryDecision: 'continue', shuffle: true, runTimeoutSeconds: 60, idleTimeoutSeconds: 5});
	t.deepEqual(control.rollout, {batch: {value: 20, percent: true}, maxFailures: {value: 0, percent: false}, canary: 2, ignoreUnreachable: true, shuffle: true, runTimeoutMs: 60_000, idleTimeoutMs: 5000});
	t.true(await control.approveCanary!());
	t.false(await runControlFromBody({canary: 1, canaryDecision: 'stop'}).approveCanary!());
});

test('no options: an empty rollout and no canary question', t => {
	t.deepEqual(runControlFromBody({ignoreUnreachable: false, shuffle: false}), {rollout: {}});
});

const refusals: Array<{title: string; body: RunControlBody; message: string}> = [
	{title: 'a canary without a decision', body: {canary: 1}, message: 'body field canaryDecision is required with canary: the API cannot ask whether to go on; send "continue" (go on when every canary host is ok) or "stop" (run the canary hosts only).'},
	{title: 'a decision without a canary', body: {canaryDecision: 'stop'}, message: 'body field canaryDecision goes with canary (how many hosts to run first).'},
	{title: 'a percentage of 0', body: {batch: '0%'}, message: 'body field batch: must be a whole number or a percentage from 1% to 100%; got "0%".'},
	{title: 'words', body: {maxFailures: 'many'}, message: 'body field maxFailures: must be a whole number or a percentage from 1% to 100%; got "many".'},
];

for (const c of refusals) {
	test(`refuses ${c.title}, naming the field`, t => {
		const error = t.throws(() => runControlFromBody(c.body), {instanceOf: XiError});
		t.is(error.code, 'USAGE');
		t.is(error.message, c.message);
	});
}
