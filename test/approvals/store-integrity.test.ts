/**
 * approvals.json is checked whole on every read (store.ts): a table of what can happen to the file
 * on disk, each asserting the one CONFIG_INVALID error a read and an update get, the
 * `approvals.refused` record the store leaves in the audit log it is given, and that the pending
 * request is neither approved nor lost: the file is left as it was, and once it is put back the
 * request reads as it was written. Neighbours that must pass: a file never written (no key), a
 * version 1 file with no open request, a version 1 file in a home that never wrote version 2.
 */
import {copyFileSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import type {AuditFields} from '../../source/audit/record.js';
import {approvalFileMac, approvalFileName, approvalKeyName, openApprovalStore, type ApprovalFile} from '../../source/approvals/store.js';
import type {ApprovalRequest} from '../../source/approvals/request.js';
import {isXiError} from '../../source/errors.js';
import {temporaryDirectory} from '../helpers/fleet.js';

const pending: ApprovalRequest = {
	id: '7c1e0000-0000-4000-8000-00000000abcd',
	state: 'pending',
	planHash: 'a'.repeat(64),
	summary: {script: 'restart-db', args: ['now'], targets: ['db1', 'db2']},
	plan: {script: 'restart-db', args: ['now'], shownArgs: ['now']},
	requester: {token: {id: 't1', name: 'alice'}, caller: 'api:alice', ai: false},
	needs: [],
	createdAt: '2026-12-07T05:00:00.000Z',
	expiresAt: '2026-12-07T06:00:00.000Z',
	votes: [],
};

type Home = {home: string; file: string; key: string; records: AuditFields[]; store: ReturnType<typeof openApprovalStore>};

async function homeWithPending(): Promise<Home> {
	const home = temporaryDirectory('xi-exec-approvals-');
	const records: AuditFields[] = [];
	const store = openApprovalStore(home, {
		async append(fields) {
			records.push(fields);
			return fields as never;
		},
	});
	await store.update(file => ({...file, requests: [pending]}));
	return {home, file: join(home, approvalFileName), key: join(home, approvalKeyName), records, store};
}

const onDisk = (home: Home) => JSON.parse(readFileSync(home.file, 'utf8')) as ApprovalFile & Record<string, unknown>;
const rewrite = (home: Home, change: (file: ApprovalFile) => unknown) => {
	writeFileSync(home.file, JSON.stringify(change(onDisk(home)), null, '\t'));
};

const failed = (file: string) => `The approval store at ${file} is malformed: its integrity check failed (it was edited by hand, torn, or comes from another controller's home); restore it from a backup, or move it aside to drop its requests.`;

type Row = {title: string; damage: (home: Home) => Promise<void> | void; message: (home: Home) => string};

const rows: Row[] = [
	{title: 'torn (the file cut short)', damage(home) {
		const text = readFileSync(home.file, 'utf8');
		writeFileSync(home.file, text.slice(0, Math.floor(text.length / 2)));
	}, message: home => `The approval store at ${home.file} cannot be read (`},
	{title: 'a summary edited to show approvers other hosts', damage(home) {
		rewrite(home, file => ({...file, requests: file.requests.map(request => ({...request, summary: {...request.summary, targets: ['db9']}}))}));
	}, message: home => failed(home.file)},
	{title: 'a vote added by hand', damage(home) {
		rewrite(home, file => ({...file, requests: file.requests.map(request => ({...request, votes: [{token: {id: 't2', name: 'bob'}, at: '2026-12-07T05:01:00.000Z'}]}))}));
	}, message: home => failed(home.file)},
	{title: 'the pending request removed', damage(home) {
		rewrite(home, file => ({...file, requests: []}));
	}, message: home => failed(home.file)},
	{title: 'its mac removed', damage(home) {
		rewrite(home, ({mac: _mac, ...file}) => file);
	}, message: home => failed(home.file)},
	{title: 'a foreign file (another controller home\'s, with its own key)', async damage(home) {
		const other = await homeWithPending();
		copyFileSync(other.file, home.file);
	}, message: home => failed(home.file)},
	{title: 'downgraded to version 1 with an open request', damage(home) {
		rewrite(home, ({mac: _mac, ...file}) => ({...file, version: 1}));
	}, message: home => `The approval store at ${home.file} is malformed: it is a version 1 file (no integrity check) holding open requests in a home that has written version 2 files; restore the version 2 file from a backup, or move it aside to drop its requests.`},
	{title: 'missing, its key still there', damage(home) {
		renameSync(home.file, `${home.file}.aside`);
	}, message: home => `The approval store at ${home.file} is missing, but ${approvalKeyName} beside it shows it was written: the requests it held (pending ones too) are gone. Restore it from a backup, or remove ${home.key} to start with no requests.`},
	{title: 'its key missing', damage(home) {
		renameSync(home.key, `${home.key}.aside`);
	}, message: home => `The approval store at ${home.file} is malformed: ${approvalKeyName} beside it is missing, so its integrity cannot be checked; restore the key from a backup, or move both aside to start with no requests.`},
];

for (const row of rows) {
	test(`approvals.json ${row.title}: refused with one error and an audit record, nothing approved or lost`, async t => {
		const home = await homeWithPending();
		const backup = readFileSync(home.file);
		await row.damage(home);
		const damaged = (() => {
			try {
				return readFileSync(home.file);
			} catch {
				return undefined;
			}
		})();

		for (const attempt of [async () => home.store.read(), async () => home.store.update(file => ({...file, requests: file.requests.map(request => ({...request, state: 'approved' as const}))}))]) {
			const error = await attempt().then(() => undefined, (error_: unknown) => error_);
			t.true(isXiError(error), row.title);
			t.like(error, {code: 'CONFIG_INVALID'});
			t.true((error as Error).message.startsWith(row.message(home)), (error as Error).message);
		}

		t.deepEqual(home.records.map(record => record['event']), ['approvals.refused', 'approvals.refused'], 'each refusal is recorded');
		t.is(home.records[0]?.['reason'], (await home.store.read().catch((error: unknown) => error) as Error).message);
		t.deepEqual(damaged === undefined ? undefined : readFileSync(home.file), damaged, 'the refused file is left as it was');

		// Put back from the backup (and the key), the pending request is there as written.
		writeFileSync(home.file, backup);
		try {
			renameSync(`${home.key}.aside`, home.key);
		} catch {
			// The key was not moved in this row.
		}

		rmSync(`${home.file}.aside`, {force: true});
		const restored = await home.store.read();
		t.like(restored.requests[0], {id: pending.id, state: 'pending', votes: [], summary: pending.summary});
	});
}

test('neighbours that are read: a home never written, a version 1 file without open requests, a version 1 file in a home with no key', async t => {
	const fresh = openApprovalStore(temporaryDirectory('xi-exec-approvals-'));
	t.deepEqual((await fresh.read()).requests, []);

	const home = await homeWithPending();
	rewrite(home, ({mac: _mac, ...file}) => ({...file, version: 1, requests: file.requests.map(request => ({...request, state: 'rejected'}))}));
	t.like((await home.store.read()).requests[0], {state: 'rejected'});

	const legacy = temporaryDirectory('xi-exec-approvals-');
	writeFileSync(join(legacy, approvalFileName), JSON.stringify({version: 1, requests: [pending]}));
	const store = openApprovalStore(legacy);
	t.like((await store.read()).requests[0], {id: pending.id, state: 'pending'});
	// Written back as version 2, with its mac under the key made at that first write.
	await store.update(file => file);
	const written = JSON.parse(readFileSync(join(legacy, approvalFileName), 'utf8')) as ApprovalFile;
	t.is(written.version, 2);
	t.is(written.mac, approvalFileMac(written, readFileSync(join(legacy, approvalKeyName))));
});
