/** SHA256SUMS in the format `sha256sum -c` reads: every file of the release, by its path inside it. */
import {createHash} from 'node:crypto';
import {readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join, relative} from 'node:path';

export function writeChecksums(directory: string): void {
	const lines = filesUnder(directory)
		.filter(file => file !== 'SHA256SUMS')
		.sort()
		.map(file => `${createHash('sha256').update(readFileSync(join(directory, file))).digest('hex')}  ${file}`);
	writeFileSync(join(directory, 'SHA256SUMS'), lines.join('\n') + '\n');
}

function filesUnder(directory: string, root = directory): string[] {
	return readdirSync(directory, {withFileTypes: true}).flatMap(entry => {
		const path = join(directory, entry.name);
		return entry.isDirectory() ? filesUnder(path, root) : [relative(root, path)];
	});
}
