/** The description cache on disk (run/description-cache.ts): `described.json` in the controller's home. */
import {join} from 'node:path';
import {openCacheFile, type CacheFile} from '../io/cache-file.js';
import {emptyDescriptionCache, parseDescriptionCache, type DescriptionCache} from '../run/description-cache.js';

export type DescriptionFile = CacheFile<DescriptionCache>;

export function descriptionFilePath(home: string): string {
	return join(home, 'described.json');
}

export function openDescriptionFile(home: string): DescriptionFile {
	return openCacheFile(descriptionFilePath(home), parseDescriptionCache, emptyDescriptionCache);
}
