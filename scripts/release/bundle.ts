/**
 * Each program as one CommonJS file (esbuild): what a single executable embeds, and what a host with
 * its own Node runs. CommonJS because a single executable's main must be; the dynamic imports that
 * keep `xi-exec run` from loading the console become lazily initialised parts of the same file.
 */
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

/** Writes `outfile` (no `#!` line: a single executable's main may not have one) and returns its size in bytes. */
export async function bundleProgram(program: Program, outfile: string): Promise<number> {
	const threads = program.name === 'xi-exec' ? [await dispatchThreadInside()] : [];
	const result = await build({...commonJs, entryPoints: [program.entry], outfile, legalComments: 'eof', plugins: [noTopLevelAwait, ...threads]});
	problems(program.name, result.warnings);
	return Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
}

function problems(name: string, warnings: readonly Message[]): void {
	const left = warnings.filter(warning => !warning.text.includes('"import.meta" is not available'));
	if (left.length > 0) {
		throw new Error(`esbuild warned while bundling ${name}:\n${left.map(warning => `${warning.location?.file ?? ''}:${warning.location?.line ?? ''} ${warning.text}`).join('\n')}`);
	}
}

/**
 * The controller's dispatch threads (source/dispatch/thread-pool.ts) inside its one file: the
 * thread's program bundled on its own is the value of source/dispatch/thread-program.ts, and the
 * pool starts each thread from that code. A single executable has no file to start a worker from.
 */
async function dispatchThreadInside(): Promise<Plugin> {
	const result = await build({...commonJs, entryPoints: ['source/dispatch/thread-worker.ts'], write: false, legalComments: 'none', outfile: 'thread-worker.cjs'});
	problems('the dispatch thread', result.warnings);
	const code = result.outputFiles[0]!.text;
	return {
		name: 'dispatch-thread-inside',
		setup(build) {
			build.onLoad({filter: /[/\\]source[/\\]dispatch[/\\]thread-program\.ts$/}, () => ({contents: `export const threadProgram = ${JSON.stringify(code)};`, loader: 'js'}));
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
