import test from 'ava';
import {agentValidity, expiryState, renewalDue} from '../../source/certificates/expiry.js';

const day = 24 * 60 * 60 * 1000;
const issued = new Date('2026-01-01T00:00:00.000Z');
const validity = {notBefore: issued, notAfter: new Date(issued.getTime() + (90 * day))};
const at = (days: number) => new Date(issued.getTime() + (days * day));

const renewals: Array<{title: string; now: Date; threshold?: number; due: boolean}> = [
	{title: 'a fresh certificate', now: at(0), due: false},
	{title: 'just over a third left', now: at(59), due: false},
	{title: 'exactly a third left', now: at(60), due: false},
	{title: 'just under a third left', now: at(60.01), due: true},
	{title: 'a day left', now: at(89), due: true},
	{title: 'expired (renewal cannot reach it any more)', now: at(91), due: false},
	{title: 'a half threshold, 40 days left', now: at(50), threshold: 0.5, due: true},
	{title: 'a half threshold, 50 days left', now: at(40), threshold: 0.5, due: false},
];

for (const c of renewals) {
	test(`renewalDue: ${c.title} → ${c.due}`, t => {
		t.is(renewalDue(validity, c.now, c.threshold), c.due);
	});
}

test('agentValidity reads the registry, assuming 90 days where the issue date is missing', t => {
	t.deepEqual(agentValidity({certificateIssued: issued.toISOString(), certificateExpires: at(30).toISOString()}), {notBefore: issued, notAfter: at(30)});
	t.deepEqual(agentValidity({certificateExpires: at(90).toISOString()}), validity);
});

const states: Array<{now: Date; expected: ReturnType<typeof expiryState>}> = [
	{now: at(0), expected: {state: 'ok', daysLeft: 90}},
	{now: at(60), expected: {state: 'ok', daysLeft: 30}},
	{now: at(60.5), expected: {state: 'expiring', daysLeft: 29}},
	{now: at(90), expected: {state: 'expired', daysLeft: 0}},
	{now: at(95), expected: {state: 'expired', daysLeft: -5}},
];

for (const c of states) {
	test(`expiryState ${c.now.toISOString()} → ${c.expected.state}`, t => {
		t.deepEqual(expiryState(validity.notAfter, c.now), c.expected);
	});
}
