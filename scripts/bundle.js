// `npm run build`, after tsc: the three executables (`xi-exec`, `xi-exec-agent`, the reference hook)
// as bundles written over tsc's entry files, so `npm install` leaves them runnable from dist/ as
// before. Why: a one-shot `xi-exec run` spent most of its time loading ~145 files one by one (ESM
// resolution, a stat and a realpath per import, a compile per file), and an idle agent's hot path
// resolution got optimised by TurboFan, which kept megabytes of compiler code resident.
//
// ES modules with code splitting: every `import()` in the tree stays lazy (a chunk loaded when it
// is asked for), so `xi-exec run` still does not load the console, the REST API or NATS. Rolldown
// rather than esbuild (measured, Node 20, load ~19): esbuild cuts code shared by several `import()`s
// into one chunk per combination of importers, even when every importer has the module already
// (evanw/esbuild#3780), so a one-shot `run` loaded 54 files and an idle agent 27; rolldown leaves
// what an importer already has where it is, and the run's own code is one named chunk (below):
// `run` loads 4 files (CPU 380 → 310 ms), an idle agent 11 (RSS 54.3 → 50.3 MiB).
//
// The controller's chunks go to dist/source/chunks/, two levels under dist/ like source/commands/, so
// a path a module builds from import.meta.url (the demo finds the agent at ../../agent/cli.js) means
// the same in both; the agent's to dist/agent/chunks/, the hook's to dist/agent/hooks/chunks/.
// Small dependencies on the run's and the idle agent's paths are bundled in; the others load from
// node_modules as they did. The rest of tsc's output stays: the bench times the run's steps module by
// module, and compares the bundle with tsc's own entry (dist/source/cli.modules.js).
import {copyFileSync, readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {build as esbuild} from 'esbuild';
import {build} from 'rolldown';
import {builtinsRequired} from './builtins-required.js';

/** Bundled in: pure JavaScript without file lookups of their own, on the paths that start often. */
const bundled = new Set(['lowdb', 'steno', 'proper-lockfile', 'graceful-fs', 'retry', 'signal-exit', 'canonicalize']);
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const external = Object.keys(manifest.dependencies).filter(name => !bundled.has(name));
const isExternal = id => id.startsWith('node:') || external.some(name => id === name || id.startsWith(`${name}/`));

// tsc's entry, kept beside the bundle under another name (its relative imports resolve there too).
copyFileSync('dist/source/cli.js', 'dist/source/cli.modules.js');

/**
 * What `xi-exec run` needs beyond the command table, with everything these import statically, as one
 * chunk: the other faces that run scripts (console, REST API, MCP, runbooks) load it too.
 */
const runChunk = /[\\/]source[\\/](commands[\\/]run(-flags)?|history[\\/]run-store|cli[\\/]read-selector)\.ts$/;

/**
 * What a one-shot dials with before the rest loads (source/cli/early-dial.ts) and everything it
 * imports, as one small chunk of its own (with a dispatch thread's modules: threadChunk): captured
 * by the run chunk, the dial would wait for all of it.
 */
const earlyChunk = /[\\/]source[\\/](cli[\\/]early-(dial|target|socket)|dispatch[\\/]agent-identity|pki[\\/](certificate-facts|identity-uri|fingerprints)|io[\\/]address|protocol[\\/]text-checks|home-paths)\.ts$/;

/**
 * A dispatch thread's modules (source/dispatch/thread-worker.ts and what it imports statically:
 * direct TLS, the protocol's decoding, the describe), as esbuild finds them: in the early dial's
 * chunk (below), not the run's. Captured by the run chunk, every thread a run starts loaded all of
 * `xi-exec run` to use a sixth of it: 291 -> 64 KB loaded per thread, thread start CPU 46.1 ->
 * 41.1 ms (bench/thread-start.ts, medians of 21 interleaved, load 21). In a chunk of their own
 * instead, every command loaded one file more (program import +5 M instructions under callgrind,
 * +0.9%); in the early dial's chunk, the same as before.
 */
const threadModules = await esbuild({entryPoints: ['source/dispatch/thread-worker.ts'], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', outdir: 'dist/.thread-modules', external: ['node:*', ...external]})
	.then(result => new Set(Object.keys(result.metafile.inputs).filter(file => file.startsWith('source/') && file !== 'source/dispatch/thread-worker.ts').map(file => resolve(file))));
const threadChunk = id => threadModules.has(id);

/**
 * The controller's chunks take node's builtins with require (builtins-required.js): an ES module
 * import of each builds a facade of all its exports (one-shot import CPU 19.9 -> 17.4 ms).
 * Each executable is bundled on its own, so that its chunks follow only its own lazy imports (built
 * together, the agent's start-up would load chunks cut for the controller).
 */
const programs = [
	{entry: 'source/cli.ts', name: 'source/cli', chunks: 'source/chunks', groups: [{name: 'direct-tls', test: id => earlyChunk.test(id) || threadChunk(id), priority: 1}, {name: 'run', test: runChunk}], more: {}, plugins: [builtinsRequired]},
	{entry: 'agent/cli.ts', name: 'agent/cli', chunks: 'agent/chunks', groups: []},
	{entry: 'agent/hooks/local-policy.ts', name: 'agent/hooks/local-policy', chunks: 'agent/hooks/chunks', groups: []},
];

/**
 * The installed `xi-exec` (package.json's bin): source/cli.ts again, as one small CommonJS file,
 * dist/source/cli.cjs, which loads the ES module program above through an entry of it with a fixed
 * name (chunks/controller.js). Why: an ES module entry makes node start its ES module loader before
 * the entry's first line (about 25 ms of CPU here, and a resolution of each builtin); from a
 * CommonJS one, a one-shot's TCP connection leaves first (cli/early-socket.ts: node:net and the
 * registry), its TLS handshake starts as soon as node:tls is loaded and the credentials are read
 * (cli/early-dial.ts), and only then does the program load, the loader with it, while the round
 * trips are on the wire. esbuild rather than rolldown here: it requires a lazily imported module's
 * builtins when that module is first imported (node:tls after the connect), where rolldown hoists
 * every require to the top. The dial's few modules are then in both files; the one state they keep,
 * what each agent presented at its handshake, is one map per process (dispatch/agent-identity.ts).
 */
const lateSteps = {'./cli/controller.js': './chunks/controller.js'};
// A dispatch thread's program (dispatch/thread-pool.ts) beside the chunk that starts it, under the name it has beside the pool in tsc's output.
programs[0].more = {'source/chunks/controller': 'source/cli/controller.ts', 'source/chunks/thread-worker': 'source/dispatch/thread-worker.ts'};
const commonJsEntry = () => esbuild({
	entryPoints: ['source/cli.ts'],
	outfile: 'dist/source/cli.cjs',
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: 'node20.11',
	legalComments: 'none',
	logLevel: 'silent',
	plugins: [{
		name: 'late-steps',
		setup(build) {
			build.onResolve({filter: /^\.\/cli\/controller\.js$/}, ({path}) => ({path: lateSteps[path], external: true}));
		},
	}],
}).then(result => problems.push(...result.warnings.map(warning => `warning: ${warning.text}`)));

const problems = [];
await Promise.all([commonJsEntry(), ...programs.map(program => build({
	input: {[program.name]: program.entry, ...program.more},
	// An entry may export more than its module does: the fixed-name entries are then chunks themselves, not one-line facades (a file more each to load).
	preserveEntrySignatures: 'allow-extension',
	platform: 'node',
	external: isExternal,
	tsconfig: 'tsconfig.json',
	plugins: program.plugins ?? [],
	// package.json's engines.
	transform: {target: 'node20.11'},
	onLog(level, log) {
		// A lazy import() of a module that is also imported statically elsewhere: loaded at once, as node would.
		if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') {
			problems.push(`${level}: ${log.message}`);
		}
	},
	output: {
		dir: 'dist',
		format: 'esm',
		entryFileNames: '[name].js',
		chunkFileNames: `${program.chunks}/[name]-[hash].js`,
		// Not minified: a --debug stack still names our functions and readable lines.
		comments: {legal: false},
		...(program.groups.length > 0 ? {codeSplitting: {groups: program.groups}} : {}),
	},
}))]);
if (problems.length > 0) {
	process.stderr.write(`${problems.join('\n')}\n`);
	process.exitCode = 1;
}
