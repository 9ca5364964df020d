/**
 * An esbuild plugin that removes the top-level awaits of two dependencies of the console, so the
 * whole controller bundles to CommonJS (a single executable's main must be CommonJS, and esbuild
 * cannot turn a top-level await into CommonJS).
 *
 * - yoga-layout 3 (Ink's layout engine) awaits the instantiation of its WebAssembly. Node can
 *   instantiate a module of any size synchronously, and Emscripten's `instantiateWasm` hook lets the
 *   caller do it, after which the module object is complete before `loadYoga()` returns.
 * - Ink's reconciler awaits two imports only when `DEV=true` (React devtools); the bundle drops
 *   that branch.
 *
 * Every rewrite checks that the text it replaces is there, so a dependency update that changes it
 * fails the build instead of shipping a console that breaks at start.
 */
import {readFileSync} from 'node:fs';
import type {Plugin} from 'esbuild';

type Rewrite = {file: RegExp; prepend?: string; edits: Array<[from: string | RegExp, to: string]>};

const wasmPrefix = 'data:application/octet-stream;base64,';

const rewrites: Rewrite[] = [
	{
		file: /[/\\]yoga-layout[/\\]dist[/\\]binaries[/\\]yoga-wasm-base64-esm\.js$/,
		// The WebAssembly is a data URL inside the Emscripten closure: also kept where the loader below reads it.
		prepend: 'let yogaWasmDataUrl;\n',
		edits: [
			[/var H;H="(data:application\/octet-stream;base64,[A-Za-z0-9+/=]+)";/, 'var H;H=yogaWasmDataUrl="$1";'],
			['export default loadYoga;', 'export default loadYoga;\nexport {yogaWasmDataUrl};'],
		],
	},
	{
		file: /[/\\]yoga-layout[/\\]dist[/\\]src[/\\]index\.js$/,
		edits: [
			['import loadYoga from \'../binaries/yoga-wasm-base64-esm.js\';', 'import loadYoga, {yogaWasmDataUrl} from \'../binaries/yoga-wasm-base64-esm.js\';'],
			['const Yoga = wrapAssembly(await loadYoga());', `const yogaModule = {
  instantiateWasm(imports, done) {
    const bytes = Buffer.from(yogaWasmDataUrl.slice(${JSON.stringify(wasmPrefix.length)}), 'base64');
    done(new WebAssembly.Instance(new WebAssembly.Module(bytes), imports));
    return {};
  },
};
loadYoga(yogaModule);
if (!yogaModule.calledRun) throw new Error('yoga-layout did not initialise synchronously');
const Yoga = wrapAssembly(yogaModule);`],
		],
	},
	{
		file: /[/\\]ink[/\\]build[/\\]reconciler\.js$/,
		edits: [
			[/if \(isDev\(\)\) \{\n\s+try \{\n\s+await import\('\.\/devtools\.js'\);[\s\S]*?\n\}\n(?=const diff)/, ''],
			[/const packageJson = isDev\(\)\n\s+\? await loadPackageJson\(\)\n\s+: (\{ name: undefined, version: undefined \});/, 'const packageJson = $1;'],
		],
	},
];

export const noTopLevelAwait: Plugin = {
	name: 'no-top-level-await',
	setup(build) {
		for (const {file, prepend, edits} of rewrites) {
			build.onLoad({filter: file}, ({path}) => {
				let contents = readFileSync(path, 'utf8');
				for (const [from, to] of edits) {
					const before = contents;
					contents = contents.replace(from, to);
					if (contents === before) {
						throw new Error(`${path}: the text to rewrite (${String(from).slice(0, 60)}…) is not there any more; check the rewrite in scripts/release/no-top-level-await.ts against this version.`);
					}
				}

				return {contents: (prepend ?? '') + contents, loader: 'js'};
			});
		}
	},
};
