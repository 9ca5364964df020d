// `npm run build` starts here: removes what the last build wrote to dist/ (dist/source, dist/agent),
// so a module deleted or moved in the tree cannot live on in dist/ and be run by the integration
// tests. dist/release (`npm run dist`) is left alone.
import {rmSync} from 'node:fs';

for (const directory of ['dist/source', 'dist/agent']) {
	rmSync(directory, {recursive: true, force: true});
}
