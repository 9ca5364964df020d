/**
 * The bench's agent and floor hosts run as plain JavaScript with the agent's code from dist/
 * (bench/built-host.ts): no tsx wrapper in the program, every agent import a dist/ module, a stale
 * or missing build refused with what to do, BENCH_HOSTS_FROM_SOURCE the way back to tsx. That the
 * programs serve runs is shown by session-tickets.test.ts and profile-fan-out.test.ts, which start them.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import test from 'ava';
import {hostProgram, staleDist} from '../../bench/built-host.js';
import {repoRoot} from '../helpers/run-bench.js';

/** A checkout with these files, each at the given age in seconds (older = smaller mtime). */
function fakeCheckout(files: Record<string, number>): string {
	const root = mkdtempSync(join(tmpdir(), 'xi-exec-built-host-'));
	const now = Date.now() / 1000;
	for (const [file, age] of Object.entries(files)) {
		mkdirSync(dirname(join(root, file)), {recursive: true});
		writeFileSync(join(root, file), 'export {};\n');
		utimesSync(join(root, file), now - age, now - age);
	}

	mkdirSync(join(root, 'bench'), {recursive: true});
	writeFileSync(join(root, 'bench/agent-host.ts'), 'import \'../agent/a.js\';\n');
	return root;
}

test.serial('the agent host is one plain module: no tsx name wrappers, every agent and source import from dist/', async t => {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-built-host-'));
	try {
		const program = await hostProgram('agent-host.ts', repoRoot, repoRoot, directory, 'agent-host');
		t.false(program.tsx);
		const text = readFileSync(program.path, 'utf8');
		t.false(text.includes('__name'));
		const imports = [...text.matchAll(/from "([^"]+)"/g)].map(match => match[1]!).filter(path => !path.startsWith('node:'));
		t.true(imports.length > 5, imports.join(', '));
		t.deepEqual(imports.filter(path => !path.startsWith(join(repoRoot, 'dist') + '/')), []);
		t.true(imports.includes(join(repoRoot, 'dist/agent/server.js')));
		const floor = await hostProgram('bare-host.ts', repoRoot, repoRoot, directory, 'bare-host');
		t.false(readFileSync(floor.path, 'utf8').includes('__name'));
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
});

test.serial('a dist/ older than a source file, or lacking its build, is refused with what to do', async t => {
	const current = fakeCheckout({'agent/a.ts': 20, 'source/b.ts': 20, 'dist/agent/a.js': 10, 'dist/source/b.js': 10});
	const older = fakeCheckout({'agent/a.ts': 20, 'source/b.ts': 5, 'dist/agent/a.js': 10, 'dist/source/b.js': 10});
	const missing = fakeCheckout({'agent/a.ts': 20, 'agent/deep/c.tsx': 20, 'agent/d.d.ts': 0, 'dist/agent/a.js': 10});
	try {
		t.is(staleDist(current), undefined);
		t.is(staleDist(older), 'source/b.ts');
		t.is(staleDist(missing), 'agent/deep/c.tsx');
		await t.throwsAsync(hostProgram('agent-host.ts', older, repoRoot, older, 'agent-host'), {message: `${join(older, 'dist')} is older than source/b.ts (or lacks its build): the bench's agent hosts run the built agent, as a real agent does; run \`npm run build\` in ${older} first`});
		const program = await hostProgram('agent-host.ts', current, repoRoot, current, 'agent-host');
		t.true(readFileSync(program.path, 'utf8').includes(`import "${join(current, 'dist/agent/a.js')}"`));
	} finally {
		for (const root of [current, older, missing]) {
			rmSync(root, {recursive: true, force: true});
		}
	}
});

test.serial('BENCH_HOSTS_FROM_SOURCE runs the named checkout\'s host source through tsx, stale build or not', async t => {
	const older = fakeCheckout({'agent/a.ts': 5, 'dist/agent/a.js': 10});
	process.env['BENCH_HOSTS_FROM_SOURCE'] = `/nowhere,${older}`;
	try {
		t.deepEqual(await hostProgram('agent-host.ts', older, repoRoot, older, 'agent-host'), {path: join(older, 'bench/agent-host.ts'), tsx: true});
		process.env['BENCH_HOSTS_FROM_SOURCE'] = '.';
		t.deepEqual(await hostProgram('bare-host.ts', repoRoot, repoRoot, older, 'bare-host'), {path: join(repoRoot, 'bench/bare-host.ts'), tsx: true});
	} finally {
		delete process.env['BENCH_HOSTS_FROM_SOURCE'];
		rmSync(older, {recursive: true, force: true});
	}
});
