/**
 * Runbook files in the controller's home: `runbooks/NAME.yaml` (or `.yml`, `.json`). A runbook is
 * read once per run, from one read of its bytes: the bytes hashed (SHA-256, recorded with the run)
 * are the bytes parsed, so editing the file during a run changes nothing in it.
 */
import {createHash} from 'node:crypto';
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import type {Runbook} from './model.js';
import {readRunbook} from './read-runbook.js';

const runbookName = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const extensions = [['.yaml', 'yaml'], ['.yml', 'yaml'], ['.json', 'json']] as const;

export function runbooksDirectory(paths: ControllerPaths): string {
	return join(paths.home, 'runbooks');
}

export type RunbookFile = {name: string; file: string; format: 'yaml' | 'json'};

export function listRunbookFiles(paths: ControllerPaths): RunbookFile[] {
	let names: string[];
	try {
		names = readdirSync(runbooksDirectory(paths)).sort();
	} catch {
		return [];
	}

	return names.flatMap(entry => {
		const extension = extensions.find(([suffix]) => entry.endsWith(suffix));
		const name = extension ? entry.slice(0, -extension[0].length) : '';
		return extension && runbookName.test(name) ? [{name, file: `runbooks/${entry}`, format: extension[1]}] : [];
	});
}

export type LoadedRunbook = {runbook: Runbook; file: string; sha256: string};

/** Reads and checks a runbook by name: RUNBOOK_UNKNOWN, or RUNBOOK_INVALID listing every problem. */
export function loadRunbook(paths: ControllerPaths, name: string): LoadedRunbook {
	const read = readRunbookBytes(paths, name);
	const checked = readRunbook(name, read.text, read.format);
	if (!checked.ok) {
		throw runbookInvalid(`${read.file} is not a valid runbook`, checked.problems);
	}

	return {runbook: checked.runbook, file: read.file, sha256: read.sha256};
}

/** The file's bytes and their hash, without checking it (a resume compares the hash first). */
export function readRunbookBytes(paths: ControllerPaths, name: string): {text: string; sha256: string; file: string; format: 'yaml' | 'json'} {
	if (!runbookName.test(name)) {
		throw new XiError('NAME_INVALID', `runbook name ${JSON.stringify(name)} must match ${runbookName.source}; \`xi-exec runbook list\` lists them.`);
	}

	const found = listRunbookFiles(paths).filter(file => file.name === name);
	if (found.length === 0) {
		throw new XiError('RUNBOOK_UNKNOWN', `No runbook ${name} in ${runbooksDirectory(paths)} (a file ${name}.yaml, .yml or .json); \`xi-exec runbook list\` lists them.`);
	}

	if (found.length > 1) {
		throw new XiError('RUNBOOK_INVALID', `Runbook ${name} is in two files (${found.map(file => file.file).join(', ')}); keep one.`);
	}

	const {file, format} = found[0]!;
	const bytes = readFileSync(join(paths.home, file));
	return {text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex'), file, format};
}

/** One error listing every problem, one per line (OUT_OF_SCOPE when a step reaches outside the caller's token). */
export function runbookInvalid(what: string, problems: readonly string[], code: 'RUNBOOK_INVALID' | 'OUT_OF_SCOPE' = 'RUNBOOK_INVALID'): XiError {
	return new XiError(code, `${what}; nothing was run:\n${problems.map(problem => `  - ${problem}`).join('\n')}`);
}
