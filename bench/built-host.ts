/**
 * The agent and floor host programs as plain JavaScript on plain node, the agent's own code loaded
 * from the checkout's dist/ (what `npm run build` compiled, what a real agent runs) rather than
 * through tsx. Why: tsx's esbuild transform keeps function names with a `__name(fn, "name")` call
 * at every closure made, and it turns source maps on for every Error's stack; a real agent has
 * neither, so charging them to our agents measured the bench, not the agent.
 *
 * The host file (bench/agent-host.ts or bare-host.ts) and the bench files it imports are bundled
 * by esbuild into one module, without kept names; every import that reaches the checkout's agent/
 * or source/ becomes an import of the same module in its dist/, left external. A dist/ older than
 * any of agent/ or source/ is refused with what to do (no build behind the bench's back).
 *
 * BENCH_HOSTS_FROM_SOURCE=DIR[,DIR] (`.` for this checkout): those checkouts' hosts run their
 * source through tsx, as the bench did before session 15, to measure what that costs in one run.
 */
import {existsSync, mkdirSync, readdirSync, statSync} from 'node:fs';
import {join, relative, resolve, sep} from 'node:path';
import {build} from 'esbuild';

/** How to start a host: a file and whether it needs tsx. */
export type HostProgram = {path: string; tsx: boolean};

/** The first source file of `checkout` whose dist/ counterpart is missing or older, or undefined when dist/ is current. */
export function staleDist(checkout: string): string | undefined {
	const walk = (directory: string): string | undefined => {
		for (const entry of readdirSync(join(checkout, directory), {withFileTypes: true})) {
			const file = join(directory, entry.name);
			if (entry.isDirectory()) {
				const found = walk(file);
				if (found) {
					return found;
				}
			} else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
				const built = join(checkout, 'dist', file.replace(/\.tsx?$/, '.js'));
				if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(checkout, file)).mtimeMs) {
					return file;
				}
			}
		}

		return undefined;
	};

	return walk('agent') ?? walk('source');
}

/** True when BENCH_HOSTS_FROM_SOURCE names this checkout (`.` names the bench's own). */
export function hostsFromSource(checkout: string, own: string): boolean {
	const listed = process.env['BENCH_HOSTS_FROM_SOURCE']?.split(',').filter(Boolean) ?? [];
	return listed.some(each => resolve(each === '.' ? own : each) === resolve(checkout));
}

/**
 * `checkout`'s bench/`script` as one plain ES module in `directory`, its agent and source imports
 * pointing at `checkout`/dist/; or, with BENCH_HOSTS_FROM_SOURCE naming the checkout, the source file to run with tsx.
 */
export async function hostProgram(script: 'agent-host.ts' | 'bare-host.ts', checkout: string, own: string, directory: string, name: string): Promise<HostProgram> {
	const entry = join(checkout, 'bench', script);
	if (hostsFromSource(checkout, own)) {
		return {path: entry, tsx: true};
	}

	const stale = staleDist(checkout);
	if (stale) {
		throw new Error(`${join(checkout, 'dist')} is older than ${stale} (or lacks its build): the bench's agent hosts run the built agent, as a real agent does; run \`npm run build\` in ${checkout} first`);
	}

	const built = join(directory, `${name}-program`);
	mkdirSync(built, {recursive: true});
	const outfile = join(built, script.replace(/\.ts$/, '.mjs'));
	const shipped = [join(checkout, 'agent') + sep, join(checkout, 'source') + sep];
	await build({
		entryPoints: [entry],
		outfile,
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		logLevel: 'silent',
		plugins: [{
			name: 'agent-from-dist',
			setup(esbuild) {
				esbuild.onResolve({filter: /^\.\.?\//}, args => {
					const path = resolve(args.resolveDir, args.path);
					return shipped.some(prefix => path.startsWith(prefix)) ? {path: join(checkout, 'dist', relative(checkout, path)), external: true} : undefined;
				});
			},
		}],
	});
	return {path: outfile, tsx: false};
}
