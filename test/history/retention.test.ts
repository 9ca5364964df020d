/**
 * History retention is configuration (`historyMaxRuns`, `historyMaxAgeDays` in the controller's
 * config.json; defaults 1000 runs and 90 days), and pruning is audited before any file goes: the
 * `history.pruned` record names each run removed and why; when the audit log refuses, nothing is
 * removed.
 */
import {readdirSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {readControllerSettings} from '../../source/audit/controller-log.js';
import type {AuditLog} from '../../source/audit/file-log.js';
import type {AuditFields} from '../../source/audit/record.js';
import type {ControllerPaths} from '../../source/home.js';
import {pruneHistory} from '../../source/history/prune.js';
import {defaultRetention, planPrune} from '../../source/history/run-store.js';
import {temporaryDirectory} from '../audit/helpers.js';

const now = new Date('2026-06-01T00:00:00.000Z');
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Run files 1..count, a day apart, the last one written a day before `now`. */
function runs(directory: string, count: number): void {
	for (let n = 1; n <= count; n++) {
		const written = new Date(now.getTime() - ((count - n + 1) * 86_400_000));
		const path = join(directory, `${written.toISOString().replaceAll(':', '-')}_${id(n)}.jsonl`);
		writeFileSync(path, '{}\n');
		utimesSync(path, written, written);
	}
}

function recordingAudit(refuse = false): AuditLog & {records: AuditFields[]} {
	const records: AuditFields[] = [];
	return {
		records,
		async append(fields: AuditFields) {
			if (refuse) {
				throw new Error('disk full');
			}

			records.push(fields);
			return fields as never;
		},
	} as unknown as AuditLog & {records: AuditFields[]};
}

test('the documented defaults', t => {
	t.deepEqual(defaultRetention, {maxRuns: 1000, maxAgeDays: 90});
});

const cases: Array<{name: string; count: number; settings: {historyMaxRuns?: number; historyMaxAgeDays?: number}; removed: Array<[number, 'count' | 'age']>}> = [
	{name: 'within both bounds: nothing', count: 5, settings: {historyMaxRuns: 6, historyMaxAgeDays: 30}, removed: []},
	{name: 'at the count: the oldest goes to make room for the new run', count: 5, settings: {historyMaxRuns: 5}, removed: [[1, 'count']]},
	{name: 'over the count', count: 5, settings: {historyMaxRuns: 2}, removed: [[1, 'count'], [2, 'count'], [3, 'count'], [4, 'count']]},
	{name: 'older than the age', count: 5, settings: {historyMaxAgeDays: 3}, removed: [[1, 'age'], [2, 'age']]},
	{name: 'both: each run once, count named first', count: 5, settings: {historyMaxRuns: 5, historyMaxAgeDays: 3}, removed: [[1, 'count'], [2, 'age']]},
];

for (const testCase of cases) {
	test(`pruning: ${testCase.name}`, async t => {
		const directory = temporaryDirectory(t);
		runs(directory, testCase.count);
		const audit = recordingAudit();
		await pruneHistory(directory, testCase.settings, audit, 'alice', now);
		const expected = testCase.removed.map(([n, reason]) => ({requestId: id(n), reason}));
		t.deepEqual(audit.records, expected.length === 0 ? [] : [{
			event: 'history.pruned',
			caller: 'alice',
			retention: {maxRuns: testCase.settings.historyMaxRuns ?? 1000, maxAgeDays: testCase.settings.historyMaxAgeDays ?? 90},
			runs: expected,
		}]);
		const left = readdirSync(directory).map(name => name.slice(-42, -6));
		t.deepEqual(left, Array.from({length: testCase.count}, (_, index) => id(index + 1)).filter(run => !expected.some(removed => removed.requestId === run)));
	});
}

test('pruning once the new run\'s file exists: it counts as the one added and stays; the same runs go', async t => {
	const directory = temporaryDirectory(t);
	runs(directory, 5);
	const added = `${now.toISOString().replaceAll(':', '-')}_${id(6)}.jsonl`;
	writeFileSync(join(directory, added), '{}\n');
	const audit = recordingAudit();
	await pruneHistory(directory, {historyMaxRuns: 5}, audit, 'alice', now, added);
	t.deepEqual(audit.records.flatMap(record => record['runs'] as unknown[]), [{requestId: id(1), reason: 'count'}]);
	t.deepEqual(readdirSync(directory).map(name => name.slice(-42, -6)), [id(2), id(3), id(4), id(5), id(6)]);
});

test('pruning: no audit record, no removal', async t => {
	const directory = temporaryDirectory(t);
	runs(directory, 3);
	await pruneHistory(directory, {historyMaxRuns: 1}, recordingAudit(true), 'alice', now);
	t.is(readdirSync(directory).length, 3);
	t.is(planPrune(directory, {maxRuns: 1, maxAgeDays: 90}, now).length, 3);
});

const settingsCases: Array<[string, unknown, string | undefined]> = [
	['historyMaxRuns', 50, undefined],
	['historyMaxAgeDays', 7, undefined],
	['historyMaxRuns', 0, '"historyMaxRuns" in CONFIG must be a whole number of at least 1 (received 0).'],
	['historyMaxRuns', 1.5, '"historyMaxRuns" in CONFIG must be a whole number of at least 1 (received 1.5).'],
	['historyMaxAgeDays', '30', '"historyMaxAgeDays" in CONFIG must be a whole number of at least 1 (received "30").'],
];

for (const [name, value, refusal] of settingsCases) {
	test(`settings: ${name} = ${JSON.stringify(value)}`, t => {
		const directory = temporaryDirectory(t);
		const config = join(directory, 'config.json');
		writeFileSync(config, JSON.stringify({[name]: value}));
		const paths = {config} as ControllerPaths;
		if (refusal) {
			t.throws(() => readControllerSettings(paths), {code: 'CONFIG_INVALID', message: refusal.replace('CONFIG', config)} as never);
		} else {
			t.deepEqual(readControllerSettings(paths), {[name]: value});
		}
	});
}
