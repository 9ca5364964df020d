/**
 * Strict modes, as sshd's StrictModes: the agent refuses to start when anyone but its own user
 * (or root) could change what it trusts — its home, config.json (the hook), allowlist.json,
 * policy.json, pins.json, the CA and its own certificate, its certificates/ and audit/
 * directories — or read its private keys. One error names the first such path, its mode, and the
 * command that fixes it. `homeModeProblem` is pure; `currentHomeProblem` reads the modes (lstat: a
 * symbolic link in place of one of these files is refused too, it would lead elsewhere). Checked
 * at start (`checkHomeModes` refuses to start), again at every reload (nothing is reloaded from an
 * unsafe home) and before every run (refused while the home is unsafe): a mode changed after the
 * agent started is caught at its next use.
 */
import {lstatSync, type Stats} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../source/errors.js';
import type {AgentPaths} from './home.js';

export type HomeEntry = {path: string; kind: 'directory' | 'file' | 'key'; facts: {uid: number; mode: number; symbolicLink?: boolean; directory?: boolean}};

export function homeModeProblem(entries: readonly HomeEntry[], agentUid: number): string | undefined {
	for (const entry of entries) {
		const problem = entryProblem(entry, agentUid);
		if (problem !== undefined) {
			return problem;
		}
	}

	return undefined;
}

/** The problem of one entry, or undefined. Pure. */
function entryProblem({path, kind, facts}: HomeEntry, agentUid: number): string | undefined {
	if (facts.symbolicLink) {
		return `${path} is a symbolic link; keep the ${kind === 'directory' ? 'directory' : 'file'} itself there`;
	}

	if ((kind === 'directory') !== Boolean(facts.directory)) {
		return `${path} is ${kind === 'directory' ? 'not a directory' : 'a directory'}; remove it or restore it`;
	}

	if (facts.uid !== 0 && facts.uid !== agentUid) {
		return `${path} is owned by uid ${facts.uid}, neither root nor the agent's user (uid ${agentUid}); fix it with \`chown ${agentUid} ${path}\``;
	}

	if (kind === 'key' && (facts.mode & 0o077) !== 0) {
		return `${path} is a private key open to ${(facts.mode & 0o070) === 0 ? 'others' : 'its group'} (mode ${modeText(facts.mode)}); fix it with \`chmod 600 ${path}\``;
	}

	if ((facts.mode & 0o022) !== 0) {
		return `${path} is writable by ${(facts.mode & 0o020) === 0 ? 'others' : 'its group'} (mode ${modeText(facts.mode)}); fix it with \`chmod go-w ${path}\``;
	}

	return undefined;
}

/** A mode as chmod writes it: 644, 0755 → 755, 1777. */
function modeText(mode: number): string {
	return (mode & 0o7777).toString(8).padStart(3, '0');
}

/** What is checked, when it exists: the home first, then what the agent reads from it. */
export function homeEntries(paths: AgentPaths): Array<{path: string; kind: HomeEntry['kind']}> {
	return [
		{path: paths.home, kind: 'directory'},
		{path: paths.config, kind: 'file'},
		{path: paths.allowlist, kind: 'file'},
		{path: join(paths.home, 'policy.json'), kind: 'file'},
		{path: join(paths.home, 'policy.active.json'), kind: 'file'},
		{path: paths.pins, kind: 'file'},
		{path: paths.ca, kind: 'file'},
		{path: paths.cert, kind: 'file'},
		{path: paths.key, kind: 'key'},
		{path: join(paths.home, 'agent.next.key'), kind: 'key'},
		{path: join(paths.home, 'agent.next.pem'), kind: 'file'},
		{path: join(paths.home, 'certificates'), kind: 'directory'},
		{path: paths.auditDirectory, kind: 'directory'},
	];
}

export function checkHomeModes(paths: AgentPaths, agentUid = process.getuid?.() ?? 0): void {
	const problem = currentHomeProblem(paths, agentUid);
	if (problem) {
		throw new XiError('HOME_UNSAFE', `Refusing to start: ${problem}. Anyone who can change these files can change what this agent runs.`);
	}
}

/** homeEntries of each home's paths, made once (the check runs before every run). */
const entriesOf = new WeakMap<AgentPaths, ReadonlyArray<{path: string; kind: HomeEntry['kind']}>>();

/** The strict-modes problem of the home as it is now (at start, at a reload, before every run), or undefined. */
export function currentHomeProblem(paths: AgentPaths, agentUid = process.getuid?.() ?? 0): string | undefined {
	let listed = entriesOf.get(paths);
	if (listed === undefined) {
		listed = homeEntries(paths);
		entriesOf.set(paths, listed);
	}

	// Each entry judged as soon as it is read, in the list's order: the first problem is the one homeModeProblem would name.
	for (const {path, kind} of listed) {
		let stats: Stats | undefined;
		try {
			// Without throwing for a file not there: an error's stack cost ~7 µs, and several of these are usually absent.
			stats = lstatSync(path, {throwIfNoEntry: false});
		} catch {
			continue;
		}

		if (stats === undefined) {
			continue; // Not there (yet): whatever needs it says so.
		}

		const problem = entryProblem({path, kind, facts: {uid: stats.uid, mode: stats.mode, symbolicLink: stats.isSymbolicLink(), directory: stats.isDirectory()}}, agentUid);
		if (problem !== undefined) {
			return problem;
		}
	}

	return undefined;
}
