#!/usr/bin/env node
/**
 * xi-exec: turns on V8's compile cache (io/compile-cache.ts), opens a one-shot run's TCP connection
 * (cli/early-socket.ts), starts its TLS handshake once the TLS code has loaded (cli/early-dial.ts),
 * then loads the program (cli/controller.ts), so that the cache covers all of it and the round trips
 * overlap the loading. The installed `xi-exec` is this file bundled to CommonJS (scripts/bundle.js):
 * the TCP connection and the TLS handshake then start before node has even started its ES module
 * loader, which the program needs.
 */
import {enableCompileCache} from './io/compile-cache.js';
import {openEarlySocket} from './cli/early-socket.js';

enableCompileCache(process.env);
const socket = openEarlySocket(process.argv.slice(2), process.env);
// Not a top-level await: the release bundles this file to CommonJS (a single executable's main), which has none.
// Without a socket (not a one-shot), the TLS step is not loaded here: the program loads what it needs.
void (socket ? import('./cli/early-dial.js').then(({dialEarly}) => dialEarly(socket)) : Promise.resolve(undefined)).then(async early => {
	const {main} = await import('./cli/controller.js');
	main(early);
});
