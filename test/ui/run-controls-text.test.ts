import test from 'ava';
import {describeControls, describeRollout, setControl, startsAt, type RunControls} from '../../source/ui/screens/run/run-controls.js';

test('a control takes what its flag takes, and empty clears it', t => {
	const cases: Array<[Parameters<typeof setControl>[1], string, RunControls | string]> = [
		['batch', '2', {batch: {value: 2, percent: false}}],
		['batch', ' 25% ', {batch: {value: 25, percent: true}}],
		['batch', '0', '--batch must be at least 1 host; got "0"'],
		['batch', '101%', '--batch must be a whole number or a percentage from 1% to 100%; got "101%"'],
		['batch', '-1', '--batch must be a whole number or a percentage from 1% to 100%; got "-1"'],
		['maxFailures', '0', {maxFailures: {value: 0, percent: false}}],
		['maxFailures', '10%', {maxFailures: {value: 10, percent: true}}],
		['canary', '3', {canary: 3}],
		['canary', '3%', '--canary must be a whole number of hosts, at least 1; got "3%"'],
		['timeoutSeconds', '0', '--timeout must be whole seconds, at least 1; got "0"'],
		['timeoutSeconds', '1e3', '--timeout must be whole seconds, at least 1; got "1e3"'],
		['timeoutSeconds', '600', {timeoutSeconds: 600}],
	];
	for (const [field, text, expected] of cases) {
		const set = setControl({}, field, text);
		t.deepEqual(set, typeof expected === 'string' ? {ok: false, reason: expected} : {ok: true, controls: expected}, `${field} ${text}`);
	}

	t.deepEqual(setControl({canary: 2, batch: {value: 1, percent: false}}, 'canary', ''), {ok: true, controls: {batch: {value: 1, percent: false}}});
});

test('the rollout in words is the dispatcher\'s: percentages resolved against the targets, the window within --parallel', t => {
	t.is(describeRollout({}, 6, 64), 'all at once');
	t.is(describeRollout({}, 100, 64), '64 at a time', 'the console\'s --parallel bounds it');
	t.is(describeRollout({batch: {value: 25, percent: true}}, 6, 64), '2 at a time', '25% of 6 rounds up');
	t.is(describeRollout({maxFailures: {value: 10, percent: true}}, 40, 64), 'all at once; no new host after more than 4 failures');
	t.is(describeRollout({canary: 1, maxFailures: {value: 1, percent: false}}, 6, 64), '1 first (canary), then you are asked; all at once; no new host after more than 1 failure');
	t.is(describeControls({batch: {value: 25, percent: true}, maxFailures: {value: 1, percent: false}, canary: 2, timeoutSeconds: 60}), 'batch 25% · max failures 1 · canary 2 · timeout 60 s');
	t.is(describeControls({}), '');
});

test('when each host starts: the canary first (within the window), then the first window, then as one ends', t => {
	const controls: RunControls = {canary: 3, batch: {value: 2, percent: false}};
	t.deepEqual([0, 1, 2, 3, 4, 5].map(index => startsAt(index, controls, 6, 64)), ['canary', 'canary', 'canary, as one ends', 'after the canary', 'after the canary', 'as one ends']);
	t.deepEqual([0, 1, 2].map(index => startsAt(index, {}, 3, 2)), ['at once', 'at once', 'as one ends'], '--parallel 2');
});
