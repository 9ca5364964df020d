/**
 * Each program as one CommonJS file (esbuild): what a single executable embeds, and what a host with
 * its own Node runs. CommonJS because a single executable's main must be; the dynamic imports that
 * keep `xi-exec run` from loading the console become lazily initialised parts of the same file.
 */
import {writeFileSync} from 'node:fs';
import {build, type Message, type Plugin} from 'esbuild';
import {noTopLevelAwait} from './no-top-level-await.js';

export type Program = {name: 'xi-exec' | 'xi-exec-agent'; entry: string};

export const programs: Program[] = [
	{name: 'xi-exec', entry: 'source/cli.ts'},
	{name: 'xi-exec-agent', entry: 'agent/cli.ts'},
];

/** The oldest Node a bundle runs on: package.json's engines (Alpine's and OpenWrt's packaged Node are newer). */
const oldestNode = 'node20.11';

/** The options every CommonJS program (and the dispatch thread inside the controller's) is bundled with. */
const commonJs = {
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: oldestNode,
	// Smaller and faster to parse; names are kept so a --debug stack still says where.
	minifyWhitespace: true,
	minifySyntax: true,
	// meow (and yoga's loader) read import.meta.url; in CommonJS it is this file (the executable in a single executable).
	define: {'import.meta': 'importMeta'},
	banner: {js: 'var importMeta = {url: require("node:url").pathToFileURL(__filename).href};'},
	logLevel: 'silent',
	metafile: true,
} as const;

/**
 * Writes `outfile` (no `#!` line: a single executable's main may not have one) and returns its size
 * in bytes. The controller's dispatch thread (source/dispatch/thread-pool.ts) needs its program
 * as code, there being no file beside a single-file bundle to start it from: the bundle carries
 * it as a string (source/dispatch/thread-program.ts). With `executable` (the bundle a single
 * executable embeds), the program is written to `executable.threadFile` instead, for the
 * executable to carry as an asset read only when a run starts threads: as a string inside, every
 * start of the executable paid for it (`--version` under callgrind, medians of 5–7 runs: 295.5 M
 * instructions against 291.8 M without threads, 290.5 M with the asset).
 */
export async function bundleProgram(program: Program, outfile: string, executable?: {threadFile: string}): Promise<number> {
	const threads = program.name === 'xi-exec' ? [await dispatchThreadProgram(executable?.threadFile)] : [];
	const result = await build({...commonJs, entryPoints: [program.entry], outfile, legalComments: 'eof', plugins: [noTopLevelAwait, ...threads]});
	problems(program.name, result.warnings);
	return Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
}

/** The single executable's asset holding the dispatch thread's program (bundleProgram's `executable`). */
export const threadAsset = 'dispatch-thread.cjs';

function problems(name: string, warnings: readonly Message[]): void {
	const left = warnings.filter(warning => !warning.text.includes('"import.meta" is not available'));
	if (left.length > 0) {
		throw new Error(`esbuild warned while bundling ${name}:\n${left.map(warning => `${warning.location?.file ?? ''}:${warning.location?.line ?? ''} ${warning.text}`).join('\n')}`);
	}
}

/**
 * source/dispatch/thread-program.ts's value: thread-worker.ts bundled on its own, as a string, or
 * (`threadFile`) read from the single executable's asset, written there. Whatever goes wrong
 * reading it leaves the value undefined: the run then keeps to the main thread.
 */
async function dispatchThreadProgram(threadFile?: string): Promise<Plugin> {
	const result = await build({...commonJs, entryPoints: ['source/dispatch/thread-worker.ts'], write: false, legalComments: 'none', outfile: 'thread-worker.cjs'});
	problems('the dispatch thread', result.warnings);
	const code = result.outputFiles[0]!.text;
	if (threadFile) {
		writeFileSync(threadFile, code);
	}

	const contents = threadFile
		? `let code;\ntry {\n\tconst sea = require('node:sea');\n\tcode = sea.isSea() ? sea.getAsset(${JSON.stringify(threadAsset)}, 'utf8') : undefined;\n} catch {}\nexport const threadProgram = code;\n`
		: `export const threadProgram = ${JSON.stringify(code)};`;
	return {
		name: 'dispatch-thread-program',
		setup(build) {
			build.onLoad({filter: /[/\\]source[/\\]dispatch[/\\]thread-program\.ts$/}, () => ({contents, loader: 'js'}));
		},
	};
}

/**
 * The reference policy hook (agent/hooks/local-policy.ts) as one ES module file for a host's own
 * Node: ESM because the hook awaits at top level (a CommonJS bundle cannot); a `require` made with
 * createRequire for the CommonJS packages inside (proper-lockfile). Keeps its `#!/usr/bin/env node`
 * line. Returns its size in bytes.
 */
export async function bundleHook(outfile: string): Promise<number> {
	const result = await build({
		entryPoints: ['agent/hooks/local-policy.ts'],
		outfile,
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: oldestNode,
		minifyWhitespace: true,
		minifySyntax: true,
		legalComments: 'eof',
		banner: {js: 'import {createRequire as xiCreateRequire} from "node:module"; const require = xiCreateRequire(import.meta.url);'},
		logLevel: 'silent',
		metafile: true,
	});
	if (result.warnings.length > 0) {
		throw new Error(`esbuild warned while bundling the reference hook:\n${result.warnings.map(warning => warning.text).join('\n')}`);
	}

	return Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
}
