/**
 * The package's `exports` point at something built: `xi-exec` imported by its own name (Node's
 * package self-reference, as an embedding program would) resolves to dist/source/index.js, which
 * npm test builds first, and its use cases work on a real controller home.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';

test('xi-exec, imported by name, is the built library entry with the use cases', async t => {
	const entry = import.meta.resolve('xi-exec');
	t.true(entry.endsWith('/dist/source/index.js'), entry);
	const library = await import('xi-exec') as Record<string, unknown>;
	for (const name of ['resolvePlan', 'executePlan', 'cancelRecordedRun', 'viewAgents', 'agentView', 'auditView', 'verifyAudit', 'createToken', 'listTokens', 'revokeToken', 'controllerPaths', 'initControllerHome', 'openControllerRegistry', 'isXiError']) {
		t.is(typeof library[name], 'function', name);
	}

	const {controllerPaths, initControllerHome, listTokens, XiError, errorCodes} = library as unknown as typeof import('../../source/index.js');
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-library-'));
	t.teardown(() => {
		rmSync(directory, {recursive: true, force: true});
	});
	const home = join(directory, 'controller');
	await initControllerHome(home, new Date());
	t.deepEqual(await listTokens({paths: controllerPaths(home), now: new Date()}), []);
	t.true(new XiError('USAGE', 'x') instanceof Error);
	t.is(errorCodes.USAGE.exit, 2);
});
