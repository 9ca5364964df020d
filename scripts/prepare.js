// `prepare` (run by npm install and npm ci): builds dist/ with TypeScript, a dev dependency. Under
// `npm ci --omit=dev` TypeScript is not installed, so there is nothing to build with: say so and
// succeed, instead of failing the install (the release bundles of `npm run dist` need no build).
import {execFileSync} from 'node:child_process';
import {createRequire} from 'node:module';

let typescript;
try {
	typescript = createRequire(import.meta.url).resolve('typescript/package.json');
} catch {
	process.stdout.write('xi-exec: dev dependencies are omitted, so dist/ is not built (it needs TypeScript); run `npm install` to build it.\n');
}

if (typescript) {
	execFileSync('npm', ['run', 'build'], {stdio: 'inherit'});
}
