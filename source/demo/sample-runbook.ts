/**
 * The demo's sample runbook, so that `b` on `npm run demo` has one to open: check the service at
 * one site, restart it where the check failed (a `confirm` script: the console asks for the
 * count), check those hosts again, then the site's disk usage even after a failure. Every script
 * it names is one of the demo's samples, which only print; db2 (paris) always fails its check, so
 * the default site shows a failure, a restart and a recheck that fails again.
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {ControllerPaths} from '../home.js';
import {runbooksDirectory} from '../runbooks/runbook-files.js';

export const sampleRunbookName = 'site-check';

export const sampleRunbook = `# The demo's sample runbook: every script it runs only prints.
description: check a site's service, restart it where the check failed, check those again
parameters:
  site:
    description: the site to look at (db2, in paris, fails its check)
    schema: {type: string, enum: [paris, london]}
    default: paris
steps:
  - name: check
    description: the service check on every host of the site
    script: check-service
    on: {tags: {site: {param: site}}}
    onFailure: continue
  - name: restart
    description: restart the app where the check failed (you type the number of hosts)
    script: restart-app
    on: {failedIn: check}
    batch: 1
  - name: recheck
    description: the check again, where it failed
    script: check-service
    on: {failedIn: check}
  - name: disk
    description: disk usage on the site's hosts, even after a failure
    script: disk-usage
    on: {tags: {site: {param: site}}}
    when: always
`;

/** Writes the sample into the controller's `runbooks/` (mode 0600, as the home's other files). */
export function writeSampleRunbook(paths: ControllerPaths): string {
	const directory = runbooksDirectory(paths);
	mkdirSync(directory, {recursive: true, mode: 0o700});
	const file = join(directory, `${sampleRunbookName}.yaml`);
	writeFileSync(file, sampleRunbook, {mode: 0o600});
	return file;
}
