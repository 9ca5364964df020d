import {mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {controllerPaths} from '../../source/home.js';
import {allSteps} from '../../source/runbooks/model.js';
import {listRunbookFiles, loadRunbook} from '../../source/runbooks/runbook-files.js';
import {sampleRunbookName, writeSampleRunbook} from '../../source/demo/sample-runbook.js';
import {sampleScripts} from '../../source/demo/sample-fleet.js';

test('the demo\'s sample runbook is a valid runbook of the demo\'s own scripts, in the controller\'s runbooks/', t => {
	const home = mkdtempSync(join(tmpdir(), 'xi-exec-sample-runbook-'));
	t.teardown(() => rmSync(home, {recursive: true, force: true}));
	const paths = controllerPaths(home);
	const file = writeSampleRunbook(paths);
	t.is(statSync(file).mode & 0o777, 0o600);
	t.deepEqual(listRunbookFiles(paths).map(entry => entry.name), [sampleRunbookName]);
	const {runbook} = loadRunbook(paths, sampleRunbookName);
	t.deepEqual(allSteps(runbook).map(step => [step.name, step.script]), [['check', 'check-service'], ['restart', 'restart-app'], ['recheck', 'check-service'], ['disk', 'disk-usage']]);
	const offered = Object.keys(sampleScripts('web1'));
	t.deepEqual(allSteps(runbook).filter(step => !offered.includes(step.script)), [], 'every step runs one of the scripts the demo gives its agents');
	t.deepEqual(runbook.parameters.map(parameter => [parameter.name, parameter.default, parameter.secret]), [['site', 'paris', false]]);
});
