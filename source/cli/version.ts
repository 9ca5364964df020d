/**
 * The version both executables print: package.json's. Imported, not read from disk at run time,
 * so the built tree (tsc copies package.json next to dist/source) and the release's single-file
 * bundle (esbuild inlines it) both carry it.
 */
import manifest from '../../package.json' with {type: 'json'};

export function packageVersion(): string {
	return manifest.version;
}
