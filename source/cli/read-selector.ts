/**
 * `--on` and `--exclude` as typed, to the selector values the core reads: `@FILE` is read from the
 * file, `-` from standard input (the grammar and its checks are in policy/selector.ts).
 */
import {readFileSync} from 'node:fs';
import {XiError} from '../errors.js';
import {expandSelectorArguments} from '../policy/selector.js';

/** Bytes a selector file may have: a few hundred thousand names. */
const maxFileBytes = 4 * 1024 * 1024;

export function readSelectorArguments(on: readonly string[], exclude: readonly string[] = []): string[] {
	const expanded = expandSelectorArguments({on, exclude}, readSource);
	if (!expanded.ok) {
		throw new XiError('SELECTOR_INVALID', `${expanded.reason}.`);
	}

	return expanded.values;
}

function readSource(source: string): string {
	const where = source === '-' ? 'standard input' : source;
	let text: string;
	try {
		text = readFileSync(source === '-' ? 0 : source, 'utf8');
	} catch (error) {
		throw new XiError('SELECTOR_INVALID', `Cannot read the selector file ${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {cause: error});
	}

	if (Buffer.byteLength(text) > maxFileBytes) {
		throw new XiError('SELECTOR_INVALID', `The selector file ${where} is over ${maxFileBytes / 1024 / 1024} MiB.`);
	}

	return text;
}
