// `npm run build`, after tsc: the three executables (`xi-exec`, `xi-exec-agent`, the reference hook)
// as bundles written over tsc's entry files, so `npm install` leaves them runnable from dist/ as
// before. Why: a one-shot `xi-exec run` spent most of its time loading ~145 files one by one (ESM
// resolution, a stat and a realpath per import, a compile per file), and an idle agent's hot path
// resolution got optimised by TurboFan, which kept megabytes of compiler code resident. esbuild
// (already the release's bundler) is used rather than hand-written concatenation because it keeps
// ES module semantics exactly (evaluation order, live bindings, lazy `import()`), which a
// concatenation of 250 modules would not.
//
// ES modules with code splitting: every `import()` in the tree stays lazy (a chunk loaded when it
// is asked for), so `xi-exec run` still does not load the console, the REST API or NATS. The
// controller's chunks go to dist/source/chunks/, two levels under dist/ like source/commands/, so a
// path a module builds from import.meta.url (the demo finds the agent at ../../agent/cli.js) means
// the same in both; the agent's to dist/agent/chunks/, the hook's to dist/agent/hooks/chunks/.
// Small dependencies on the run's and the idle agent's paths are bundled in; the others load from
// node_modules as they did. The rest of tsc's output stays: the bench times the run's steps module by
// module, and compares the bundle with tsc's own entry (dist/source/cli.modules.js).
import {copyFileSync, readFileSync} from 'node:fs';
import {build} from 'esbuild';

/** Bundled in: pure JavaScript without file lookups of their own, on the paths that start often. */
const bundled = new Set(['lowdb', 'steno', 'proper-lockfile', 'graceful-fs', 'retry', 'signal-exit', 'canonicalize']);
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const external = Object.keys(manifest.dependencies).filter(name => !bundled.has(name));

// tsc's entry, kept beside the bundle under another name (its relative imports resolve there too).
copyFileSync('dist/source/cli.js', 'dist/source/cli.modules.js');

/**
 * Each executable is bundled on its own, so that its chunks follow only its own lazy imports: built
 * together, the controller's fifty-odd `import()`s cut the modules it shares with the agent into
 * many small chunks, and the agent resolved ~40 files at start (its resolver's path code then got
 * hot enough for TurboFan, ~4 MiB of RSS for good).
 */
const programs = [
	{entry: 'source/cli.ts', chunks: 'source/chunks'},
	{entry: 'agent/cli.ts', chunks: 'agent/chunks'},
	{entry: 'agent/hooks/local-policy.ts', chunks: 'agent/hooks/chunks'},
];

const results = await Promise.all(programs.map(program => build({
	entryPoints: [program.entry],
	outdir: 'dist',
	outbase: '.',
	entryNames: '[dir]/[name]',
	chunkNames: `${program.chunks}/[name]-[hash]`,
	bundle: true,
	splitting: true,
	format: 'esm',
	platform: 'node',
	// package.json's engines.
	target: 'node20.11',
	external,
	// The CommonJS packages bundled in call require() for node's built-in modules.
	banner: {js: 'import {createRequire as xiBundleCreateRequire} from "node:module"; const require = xiBundleCreateRequire(import.meta.url);'},
	// Not minified: a --debug stack still names our functions and readable lines.
	legalComments: 'none',
	logLevel: 'warning',
})));
if (results.some(result => result.errors.length > 0 || result.warnings.length > 0)) {
	process.exitCode = 1;
}
