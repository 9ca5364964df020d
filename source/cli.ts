#!/usr/bin/env node
/**
 * xi-exec: turns on V8's compile cache (io/compile-cache.ts), then loads the program
 * (cli/controller.ts), so that the cache covers it.
 */
import {enableCompileCache} from './io/compile-cache.js';

enableCompileCache(process.env);
// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
void import('./cli/controller.js');
