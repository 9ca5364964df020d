#!/usr/bin/env node
/**
 * xi-exec: turns on V8's compile cache (io/compile-cache.ts), starts a one-shot run's connection
 * (cli/early-dial.ts), then loads the program (cli/controller.ts), so that the cache covers both
 * and the handshake overlaps the loading.
 */
import {enableCompileCache} from './io/compile-cache.js';

enableCompileCache(process.env);
// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
void import('./cli/early-dial.js').then(async ({dialEarly}) => {
	const early = dialEarly(process.argv.slice(2), process.env);
	const {main} = await import('./cli/controller.js');
	main(early);
});
