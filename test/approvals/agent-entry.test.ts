/**
 * The agent's own check of what was approved, over real agent processes: a run that executes a
 * two-person approval carries the digest of this host's allowlist entry as the approved plan
 * holds it, taken here as the controller takes it (the agent's description, run/entry-digest.ts).
 * Between that description and the run, each row does what an attacker (or a hurried admin)
 * would try — replace the script and reload, point the entry at another interpreter or user and
 * reload, remove the entry, forge or drop the digest — and asserts the exact result the agent
 * answers and the exact `run.refused` record its audit log keeps. Its neighbours are here too:
 * the entry unchanged runs; the file replaced without a reload is refused by the older file
 * check; a malformed digest is a protocol error; no approval at all, where the agent's own policy
 * insists on one, is its hook's denial.
 */
import {renameSync, writeFileSync} from 'node:fs';
import test from 'ava';
import {lookupUser} from '../../agent/users.js';
import {approvalId, approvedDigest, claim, editEntry, host, reload, run, type Host} from '../helpers/approved-agent.js';
import {installScript} from '../helpers/fleet.js';

const isRoot = process.getuid?.() === 0;
const hasNobody = lookupUser('nobody') !== undefined;

/** Replaces the script by another file under the same name (what an upgrade, or an attacker, does). */
function replaceScript(target: Host): void {
	writeFileSync(`${target.script}.new`, '#!/usr/bin/env dash\necho "not what was approved"\n', {mode: 0o755});
	renameSync(`${target.script}.new`, target.script);
}

const changedSince = (short: string) => `script restart is refused: approval ${approvalId} was given for another allowlist entry for restart on db1 (approved ${short}…, now `;
const stillCurrent = 'the entry, its script or its interpreter changed since the approval; ask for approval again';

type Row = {
	title: string;
	insist?: boolean;
	needsRoot?: boolean;
	/** What happens between the approval (the digest taken) and the run. */
	between?: (target: Host) => Promise<void> | void;
	approval: (digest: string) => unknown;
	/** The refusal's reason; undefined: the run runs. */
	reason?: (digest: string) => string | RegExp;
};

const rows: Row[] = [
	{title: 'the entry unchanged runs', approval: digest => claim(digest)},
	{
		title: 'the script replaced and the allowlist reloaded',
		async between(target) {
			replaceScript(target);
			await reload(target);
		},
		approval: digest => claim(digest),
		reason: digest => changedSince(digest.slice(0, 12)),
	},
	{
		title: 'the script replaced, not reloaded (the file check refuses it first)',
		between: replaceScript,
		approval: digest => claim(digest),
		reason: () => /^script restart is refused: \/.+\/restart changed since the allowlist was loaded; check it, then reload \(SIGHUP or xi-exec-agent allow\)$/,
	},
	{
		title: 'the interpreter changed and reloaded',
		async between(target) {
			editEntry(target, entry => ({...entry, interpreter: '/bin/dash'}));
			await reload(target);
		},
		approval: digest => claim(digest),
		reason: digest => changedSince(digest.slice(0, 12)),
	},
	{
		title: 'runAs changed and reloaded',
		needsRoot: true,
		async between(target) {
			editEntry(target, entry => ({...entry, runAs: 'nobody'}));
			await reload(target);
		},
		approval: digest => claim(digest),
		reason: digest => changedSince(digest.slice(0, 12)),
	},
	{
		title: 'the entry removed and reloaded',
		async between(target) {
			editEntry(target, () => undefined);
			await reload(target);
		},
		approval: digest => claim(digest),
		reason: () => 'script restart is not on db1\'s allowlist',
	},
	{
		title: 'a forged digest',
		approval: () => claim('f'.repeat(64)),
		reason: () => changedSince('ffffffffffff'),
	},
	{
		title: 'the digest dropped from the approval',
		approval: () => claim(),
		reason: () => `script restart is refused: approval ${approvalId} names no digest of db1's allowlist entry for restart, so what was approved cannot be checked here; ask for approval again`,
	},
	{
		title: 'the digest dropped, where the agent\'s own policy insists on an approval',
		insist: true,
		approval: () => claim(),
		reason: () => `script restart is refused: approval ${approvalId} names no digest of db1's allowlist entry for restart, so what was approved cannot be checked here; ask for approval again`,
	},
	{title: 'the entry unchanged, where the agent\'s own policy insists on an approval', insist: true, approval: digest => claim(digest)},
	{
		title: 'no approval at all, where the agent\'s own policy insists on one (its hook denies)',
		insist: true,
		approval: () => undefined,
		reason: () => 'rule "two people" does not allow it: the run carries no two-person approval',
	},
];

for (const row of rows) {
	const runs = row.needsRoot && !(isRoot && hasNobody) ? test.skip : test;
	runs(`approved entry on the agent: ${row.title}`, async t => {
		const target = await host(t, {insist: row.insist});
		const digest = await approvedDigest(target);
		await row.between?.(target);
		const outcome = await run(target, row.approval(digest));
		const expected = row.reason?.(digest);
		if (expected === undefined) {
			t.is(outcome.status, 'ok', outcome.reason);
			t.is(outcome.stdout, 'restarted now\n');
			t.like(outcome.records.find(record => record['event'] === 'run.finish'), {status: 'ok', approvalId});
			t.false(outcome.records.some(record => record['event'] === 'run.refused'));
			return;
		}

		t.is(outcome.status, 'denied');
		t.is(outcome.stdout, '');
		t.false(outcome.records.some(record => record['event'] === 'run.start'), 'nothing ran');
		const matches = (text: string | undefined) => typeof expected === 'string' ? text?.startsWith(expected) === true && (expected.endsWith('now ') ? text.endsWith(stillCurrent) : text === expected) : expected.test(text ?? '');
		t.true(matches(outcome.reason), outcome.reason);
		// The hook's denial is a `decision` record; every refusal at the execution boundary a `run.refused`.
		const record = outcome.records.find(each => each['event'] === (row.title.includes('its hook denies') ? 'decision' : 'run.refused'));
		t.like(record, row.title.includes('its hook denies') ? {allowed: false} : {status: 'denied', approvalId});
		t.true(matches(record?.['reason'] as string | undefined), JSON.stringify(record));
	});
}

test('a malformed digest is a protocol error, and nothing runs', async t => {
	const target = await host(t);
	for (const bad of ['F'.repeat(64), 'f'.repeat(63), 7, null]) {
		const outcome = await run(target, {...claim(), entryDigest: bad});
		t.like(outcome.error, {type: 'error', code: 'malformed', message: 'field "approval" must be {id, approvers, at, planHash, entryDigest?} (printable strings, at most 10 approvers, SHA-256 hex hashes)'}, JSON.stringify(bad));
		t.is(outcome.status, 'undefined');
	}
});

test('the hook sees the approval with this host\'s entry digest', async t => {
	// A hook that denies and answers with the approval it was shown.
	const hook = installScript('show-approval', '#!/usr/bin/env node\nlet input = "";\nprocess.stdin.on("data", chunk => { input += chunk; });\nprocess.stdin.on("end", () => { process.stdout.write(JSON.stringify({allow: false, reason: JSON.stringify(JSON.parse(input).approval)})); });\n');
	const target = await host(t, {hook});
	const digest = await approvedDigest(target);
	const outcome = await run(target, claim(digest));
	t.is(outcome.status, 'denied');
	t.deepEqual(JSON.parse(outcome.reason ?? 'null'), claim(digest));
});
