/**
 * The allowlist as the running agent holds it: each entry with the identity its files (the script
 * and its interpreters) had when they were checked at load, and its compiled argument schema. An entry that failed a check at load is
 * kept with its reason, so a run of it is refused with that reason rather than "unknown".
 */
import type {ValidateFunction} from 'ajv/dist/2020.js';
import {compileArgsSchema} from '../source/protocol/args-schema.js';
import type {ScriptDescription} from '../source/protocol/frames.js';
import type {AllowlistEntry, AllowlistFile, ExecIdentity, Owners} from './allowlist.js';
import {inspectExecutable} from './open-executable.js';

export {compileArgsSchema} from '../source/protocol/args-schema.js';

export type LoadedEntry = {
	name: string;
	entry: AllowlistEntry;
	/** Set when the entry passed every check at load. */
	identity?: ExecIdentity;
	validate?: ValidateFunction;
	problem?: string;
};

export type LoadedAllowlist = Map<string, LoadedEntry>;

export function loadAllowlist(file: AllowlistFile, ownersFor: (entry: AllowlistEntry) => Owners | string): LoadedAllowlist {
	const loaded: LoadedAllowlist = new Map();
	for (const [name, entry] of Object.entries(file.scripts)) {
		loaded.set(name, loadEntry(name, entry, ownersFor));
	}

	return loaded;
}

function loadEntry(name: string, entry: AllowlistEntry, ownersFor: (entry: AllowlistEntry) => Owners | string): LoadedEntry {
	const owners = ownersFor(entry);
	if (typeof owners === 'string') {
		return {name, entry, problem: owners};
	}

	const check = inspectExecutable(entry.path, owners, entry.interpreter);
	if (!check.ok) {
		return {name, entry, problem: check.reason};
	}

	if (entry.args === undefined) {
		return {name, entry, identity: check.identity};
	}

	const compiled = compileArgsSchema(entry.args);
	return compiled.ok ? {name, entry, identity: check.identity, validate: compiled.validate} : {name, entry, problem: compiled.reason};
}

/** What discovery advertises: usable entries only, never paths or users. */
export function describeAllowlist(allowlist: LoadedAllowlist): ScriptDescription[] {
	return [...allowlist.values()]
		.filter(loaded => loaded.problem === undefined)
		.map(({name, entry}) => ({
			name,
			description: entry.description,
			timeoutSeconds: entry.timeoutSeconds,
			...(entry.args === undefined ? {} : {args: entry.args}),
			...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}),
			...(entry.confirm ? {confirm: true} : {}),
			...(entry.readOnly ? {readOnly: true} : {}),
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
}
