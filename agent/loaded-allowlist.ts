/**
 * The allowlist as the running agent holds it: each entry with the identity its files (the script
 * and its interpreters) had when they were checked at load, and its compiled argument schema. An entry that failed a check at load is
 * kept with its reason, so a run of it is refused with that reason rather than "unknown".
 */
import {createHash} from 'node:crypto';
import type {ValidateFunction} from 'ajv/dist/2020.js';
import {canonical} from '../source/audit/record.js';
import type {CompiledSchema} from '../source/protocol/args-schema.js';
import type {ScriptDescription} from '../source/protocol/frames.js';
import {pathTextProblem, type AllowlistEntry, type AllowlistFile, type ExecIdentity, type Owners} from './allowlist.js';
import {describeEntry} from './describe-entry.js';
import {inspectExecutable} from './open-executable.js';

/** compileArgsSchema (args-schema.ts), passed in: see schemaCompilerFor. */
export type SchemaCompiler = (schema: unknown) => CompiledSchema;

/**
 * The schema compiler, loaded only when an entry of `file` has an argument schema: Ajv costs an
 * agent about 8 MiB of resident memory, which an agent without schemas need not carry.
 */
export async function schemaCompilerFor(file: AllowlistFile): Promise<SchemaCompiler | undefined> {
	if (!Object.values(file.scripts).some(entry => entry.args !== undefined)) {
		return undefined;
	}

	const {compileArgsSchema} = await import('../source/protocol/args-schema.js');
	return compileArgsSchema;
}

export type LoadedEntry = {
	name: string;
	entry: AllowlistEntry;
	/** Set when the entry passed every check at load. */
	identity?: ExecIdentity;
	validate?: ValidateFunction;
	/** entryDigest of the entry and its identity, when it passed every check. */
	digest?: string;
	problem?: string;
};

export type LoadedAllowlist = Map<string, LoadedEntry>;

/** `compile`: from schemaCompilerFor(file); an entry with a schema and no compiler is unusable. */
export function loadAllowlist(file: AllowlistFile, ownersFor: (entry: AllowlistEntry) => Owners | string, compile: SchemaCompiler | undefined): LoadedAllowlist {
	const loaded: LoadedAllowlist = new Map();
	for (const [name, entry] of Object.entries(file.scripts)) {
		loaded.set(name, loadEntry(name, entry, ownersFor, compile));
	}

	return loaded;
}

function loadEntry(name: string, entry: AllowlistEntry, ownersFor: (entry: AllowlistEntry) => Owners | string, compile: SchemaCompiler | undefined): LoadedEntry {
	const owners = ownersFor(entry);
	if (typeof owners === 'string') {
		return {name, entry, problem: owners};
	}

	const textProblem = pathTextProblem(entry.path) ?? (entry.interpreter === undefined ? undefined : pathTextProblem(entry.interpreter));
	if (textProblem !== undefined) {
		return {name, entry, problem: textProblem};
	}

	const check = inspectExecutable(entry.path, owners, entry.interpreter);
	if (!check.ok) {
		return {name, entry, problem: check.reason};
	}

	const digest = entryDigest(entry, check.identity);
	if (entry.args === undefined) {
		return {name, entry, identity: check.identity, digest};
	}

	const compiled = compile ? compile(entry.args) : {ok: false as const, reason: 'its argument schema was not compiled (no schema compiler loaded: a bug, please report it)'};
	return compiled.ok ? {name, entry, identity: check.identity, validate: compiled.validate, digest} : {name, entry, problem: compiled.reason};
}

/**
 * What identifies an entry as loaded, without saying its path or users: SHA-256 over the entry's
 * canonical JSON (path, interpreter, runAs, schema, limits) and the identity of every file that
 * executes for it (device, inode, size, mtime, ctime, owner, mode, a script's SHA-256: allowlist.ts FileIdentity).
 * Editing the entry, or changing the script in any way and reloading — even in place with its
 * mtime set back — changes it; an approval bound to a plan that contains it then no longer holds.
 * v2: the identity gained size and ctime, and its numbers became exact strings. v3: a `#!`
 * script's identity gained the SHA-256 of its bytes.
 */
export function entryDigest(entry: AllowlistEntry, identity: ExecIdentity): string {
	return createHash('sha256').update('xi-exec allowlist entry v3\n').update(canonical({entry, files: identity})).digest('hex');
}

/** What discovery advertises: usable entries only, never paths or users (the digest covers them). */
export function describeAllowlist(allowlist: LoadedAllowlist): ScriptDescription[] {
	return [...allowlist.values()]
		.filter(loaded => loaded.problem === undefined)
		.map(loaded => describeEntry(loaded))
		.sort((a, b) => a.name.localeCompare(b.name));
}
