/**
 * What the benches say about the description cache (core/cached-plan.ts): how many of a controller
 * home's registered hosts a run of `script` without arguments would plan from the cache, worked out
 * by the planner's own function on the home's `described.json` and registry; and the CLI of another
 * checkout (BENCH_BASE=DIR: its built dist/source/cli.cjs) to run beside this one.
 */
import {existsSync} from 'node:fs';
import {basename, join, resolve} from 'node:path';
import {cachedEntries} from '../source/core/cached-plan.js';
import {openDescriptionFile} from '../source/core/description-file.js';
import {controllerPaths, openControllerRegistry} from '../source/home.js';
import {revokedSerials} from '../source/registry/model.js';

/** `100 of 100 hosts` */
export async function plannedFromCache(home: string, script: string): Promise<string> {
	const registry = await openControllerRegistry(controllerPaths(home)).read();
	const cached = cachedEntries(openDescriptionFile(home), script, [], registry.agents, revokedSerials(registry));
	return `${cached.size} of ${registry.agents.length} hosts`;
}

/** The CLI of the checkout BENCH_BASE names, built; undefined without one. */
export function baseCli(): {label: string; cli: string} | undefined {
	const directory = process.env['BENCH_BASE']?.split(',').find(Boolean);
	if (!directory) {
		return undefined;
	}

	const cli = join(resolve(directory), 'dist/source/cli.cjs');
	if (!existsSync(cli)) {
		throw new Error(`BENCH_BASE=${directory}: ${cli} is missing; run npm run build there first`);
	}

	return {label: `BENCH_BASE ${basename(resolve(directory))}`, cli};
}
