/**
 * The pure modules outside the pure folders (ARCHITECTURE.md, "The pure core"): each, and every
 * module it reaches at run time (`import type` aside), imports no IO module and not the home. The
 * boundaries test checks the pure folders' own imports; this follows a machine's imports to the
 * end, so an IO module two steps away (decide-run → planned-entry → loaded-allowlist →
 * open-executable → node:fs, as it was) fails here.
 */
import {existsSync} from 'node:fs';
import test from 'ava';
import {runtimeClosure} from './runtime-imports.js';

const ioModules = /^(node:)?(fs|fs\/promises|net|tls|http|https|dgram|child_process)$|^(execa|lowdb|proper-lockfile)$/;

/** As listed in ARCHITECTURE.md; add a module there and here together. */
const pureModules = [
	// The execution boundary, and the agent's other machines.
	'agent/decide-run.ts',
	'agent/allowlist.ts',
	'agent/describe-entry.ts',
	'agent/planned-entry.ts',
	'agent/approved-entry.ts',
	'agent/path-trust.ts',
	'agent/shebang.ts',
	'agent/connection-rules.ts',
	'agent/relay-guard.ts',
	'agent/replay-guard.ts',
	'agent/relay-secret-check.ts',
	'source/dispatch/relay-exchange.ts',
	'source/dispatch/exchange-end.ts',
	'source/pairing/ceremony.ts',
	'source/audit/batch-plan.ts',
	'source/audit/verify.ts',
	'source/audit/cross-verify.ts',
	'source/approvals/policy.ts',
	'source/approvals/plan-binding.ts',
	'source/runbooks/flow.ts',
	'source/runbooks/resume.ts',
	'source/runbooks/build-runbook.ts',
	'source/metrics/instruments.ts',
	'source/ui/use-console-state.ts',
	'source/ui/screens/approvals/use-approvals-state.ts',
	'source/ui/screens/audit/use-audit-state.ts',
	'source/ui/screens/fleet/use-fleet-state.ts',
	'source/ui/screens/history/use-history-state.ts',
	'source/ui/screens/output/use-output-state.ts',
	'source/ui/screens/pairing/use-pairing-state.ts',
	'source/ui/screens/run/use-run-state.ts',
	'source/ui/screens/runbooks/use-runbooks-state.ts',
];

test('every listed pure module exists', t => {
	t.deepEqual(pureModules.filter(path => !existsSync(new URL(`../../${path}`, import.meta.url))), []);
});

for (const start of pureModules) {
	test(`${start} reaches no IO module and not the home, however far its imports go`, t => {
		const {files, packages} = runtimeClosure(start);
		const io = packages.filter(({specifier}) => ioModules.test(specifier)).map(({file, specifier}) => `${file} imports ${specifier}`);
		const home = files.filter(file => file === 'source/home.ts');
		t.deepEqual([...io, ...home.map(file => `reaches ${file}`)], []);
	});
}

test('the closure follows relative imports and leaves out what is erased', t => {
	const {files} = runtimeClosure('agent/decide-run.ts');
	t.true(files.includes('agent/describe-entry.ts'), 'through planned-entry.ts');
	t.false(files.includes('agent/loaded-allowlist.ts'), 'imported for its types only');
	// The opposite case, so the check can fail: the loader reaches node:fs through open-executable.ts.
	const loader = runtimeClosure('agent/loaded-allowlist.ts');
	t.true(loader.packages.some(({file, specifier}) => file === 'agent/walk-path.ts' && specifier === 'node:fs'));
});
