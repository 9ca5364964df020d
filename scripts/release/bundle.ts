/**
 * Each program as one CommonJS file (esbuild): what a single executable embeds, and what a host with
 * its own Node runs. CommonJS because a single executable's main must be; the dynamic imports that
 * keep `xi-exec run` from loading the console become lazily initialised parts of the same file.
 */
import {build} from 'esbuild';
import {noTopLevelAwait} from './no-top-level-await.js';

export type Program = {name: 'xi-exec' | 'xi-exec-agent'; entry: string};

export const programs: Program[] = [
	{name: 'xi-exec', entry: 'source/cli.ts'},
	{name: 'xi-exec-agent', entry: 'agent/cli.ts'},
];

/** The oldest Node a bundle runs on: package.json's engines (Alpine's and OpenWrt's packaged Node are newer). */
const oldestNode = 'node20.11';

/** Writes `outfile` (no `#!` line: a single executable's main may not have one) and returns its size in bytes. */
export async function bundleProgram(program: Program, outfile: string): Promise<number> {
	const result = await build({
		entryPoints: [program.entry],
		outfile,
		bundle: true,
		platform: 'node',
		format: 'cjs',
		target: oldestNode,
		// Smaller and faster to parse; names are kept so a --debug stack still says where.
		minifyWhitespace: true,
		minifySyntax: true,
		legalComments: 'eof',
		// meow (and yoga's loader) read import.meta.url; in CommonJS it is this file (the executable in a single executable).
		define: {'import.meta': 'importMeta'},
		banner: {js: 'var importMeta = {url: require("node:url").pathToFileURL(__filename).href};'},
		plugins: [noTopLevelAwait],
		logLevel: 'silent',
		metafile: true,
	});
	const warnings = result.warnings.filter(warning => !warning.text.includes('"import.meta" is not available'));
	if (warnings.length > 0) {
		throw new Error(`esbuild warned while bundling ${program.name}:\n${warnings.map(warning => `${warning.location?.file ?? ''}:${warning.location?.line ?? ''} ${warning.text}`).join('\n')}`);
	}

	return Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
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
