/** How many dispatch threads a run uses (dispatch/thread-count.ts), and the `dispatchThreads` setting: "auto", a whole number from 1 to 64, or a clear refusal. */
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {readControllerSettings} from '../../source/audit/controller-log.js';
import {dispatchThreadCount} from '../../source/dispatch/thread-count.js';
import {XiError} from '../../source/errors.js';
import {controllerPaths} from '../../source/home.js';

const counts: Array<{setting: number | 'auto' | undefined; cores: number; hosts: number; threads: number}> = [
	// auto: never on two cores, never below 1,000 hosts; one thread per 500 hosts, at most cores - 1 and 8.
	{setting: undefined, cores: 2, hosts: 10_000, threads: 1},
	{setting: 'auto', cores: 2, hosts: 10_000, threads: 1},
	{setting: 'auto', cores: 16, hosts: 999, threads: 1},
	{setting: 'auto', cores: 16, hosts: 1000, threads: 2},
	{setting: 'auto', cores: 16, hosts: 2600, threads: 6},
	{setting: 'auto', cores: 16, hosts: 10_000, threads: 8},
	{setting: 'auto', cores: 4, hosts: 10_000, threads: 3},
	{setting: 'auto', cores: 3, hosts: 1000, threads: 2},
	// A number is taken as given, on any machine, but never more threads than hosts.
	{setting: 1, cores: 16, hosts: 10_000, threads: 1},
	{setting: 2, cores: 2, hosts: 6, threads: 2},
	{setting: 4, cores: 2, hosts: 3, threads: 3},
	{setting: 4, cores: 2, hosts: 0, threads: 1},
];

for (const {setting, cores, hosts, threads} of counts) {
	test(`dispatchThreads ${JSON.stringify(setting)} on ${cores} cores, ${hosts} hosts: ${threads} thread(s)`, t => {
		t.is(dispatchThreadCount(setting, {cores, hosts}), threads);
	});
}

const settings: Array<{value: unknown; accepted: boolean}> = [
	{value: 'auto', accepted: true},
	{value: 1, accepted: true},
	{value: 64, accepted: true},
	{value: 0, accepted: false},
	{value: 65, accepted: false},
	{value: 2.5, accepted: false},
	{value: '2', accepted: false},
	{value: 'AUTO', accepted: false},
	{value: null, accepted: false},
];

for (const {value, accepted} of settings) {
	test(`the setting dispatchThreads ${JSON.stringify(value)}: ${accepted ? 'taken' : 'refused, naming the file and the value'}`, t => {
		const paths = controllerPaths(join(mkdtempSync(join(tmpdir(), 'xi-exec-threads-')), 'controller'));
		mkdirSync(paths.home);
		writeFileSync(paths.config, JSON.stringify({dispatchThreads: value}));
		if (accepted) {
			t.deepEqual(readControllerSettings(paths), {dispatchThreads: value});
		} else {
			t.like(t.throws(() => readControllerSettings(paths), {instanceOf: XiError}), {code: 'CONFIG_INVALID', message: `"dispatchThreads" in ${paths.config} must be "auto" or a whole number of threads from 1 to 64 (received ${JSON.stringify(value)}).`});
		}
	});
}
