/**
 * currentHomeProblem, as checked before every run, on a real home: files that are not there are
 * skipped (whatever needs them says so), and the first unsafe one found after them is named.
 */
import {chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {initAgent} from '../../agent/commands.js';
import {currentHomeProblem} from '../../agent/home-modes.js';
import {agentPaths} from '../../agent/home.js';

const rows: Array<{name: string; arrange: (home: string) => void; problem: RegExp | undefined}> = [
	{name: 'a fresh home, policy and next key absent', arrange: () => undefined, problem: undefined},
	{name: 'absent files before an unsafe next key', arrange: home => writeFileSync(join(home, 'agent.next.key'), 'key', {mode: 0o640}), problem: /agent\.next\.key is a private key open to its group \(mode 640\)/},
	{name: 'a symbolic link in place of policy.active.json', arrange: home => symlinkSync('/etc/hostname', join(home, 'policy.active.json')), problem: /policy\.active\.json is a symbolic link/},
	{name: 'a file in place of the certificates directory', arrange(home) {
		rmSync(join(home, 'certificates'), {recursive: true, force: true});
		writeFileSync(join(home, 'certificates'), '');
	}, problem: /certificates is not a directory/},
	{name: 'config.json writable by others', arrange: home => chmodSync(join(home, 'config.json'), 0o646), problem: /config\.json is writable by others \(mode 646\)/},
];

for (const row of rows) {
	test(`currentHomeProblem: ${row.name}`, t => {
		const home = join(mkdtempSync(join(tmpdir(), 'xi-exec-home-problem-')), 'agent');
		const paths = agentPaths(home);
		initAgent(paths, {name: 'home-problem', listen: '127.0.0.1:1', tags: []});
		row.arrange(home);
		const problem = currentHomeProblem(paths);
		if (row.problem === undefined) {
			t.is(problem, undefined);
		} else {
			t.regex(problem ?? '', row.problem);
		}
	});
}
