/**
 * The agent's key and certificate on disk, replaced as a pair. A renewal writes the new pair next
 * to the old one (agent.next.key, agent.next.pem), then renames the key, then the certificate; a
 * crash at any point leaves something `finishInterruptedSwap` turns back into one matching pair:
 *
 *   both next files present      the swap had not begun: the old pair stands, the next is dropped
 *   only agent.next.pem present  the key was moved, the certificate was not: move it
 *   only agent.next.key present  the certificate was never written: drop the key
 *
 * Every certificate the agent has held stays under certificates/SERIAL.pem (public material), so
 * the checkpoints its audit log signed with an earlier key can still be verified.
 */
import {readdirSync, rmSync} from 'node:fs';
import {renameDurable} from '../source/io/durable-fs.js';
import {join} from 'node:path';
import {ensureDirectory, existsSync, readTextFile, writeFileAtomic} from '../source/io/files.js';
import type {AgentPaths} from './home.js';

export type AgentCredentials = {key: string; cert: string; ca: string};

function nextPaths(paths: AgentPaths) {
	return {key: `${paths.key.replace(/\.key$/, '')}.next.key`, cert: `${paths.cert.replace(/\.pem$/, '')}.next.pem`};
}

export function previousCertificatesDirectory(paths: AgentPaths): string {
	return join(paths.home, 'certificates');
}

export function finishInterruptedSwap(paths: AgentPaths): 'none' | 'completed' | 'dropped' {
	const next = nextPaths(paths);
	const key = existsSync(next.key);
	const cert = existsSync(next.cert);
	if (key && cert) {
		rmSync(next.key, {force: true});
		rmSync(next.cert, {force: true});
		return 'dropped';
	}

	if (cert) {
		renameDurable(next.cert, paths.cert);
		return 'completed';
	}

	if (key) {
		rmSync(next.key, {force: true});
		return 'dropped';
	}

	return 'none';
}

export function readCredentials(paths: AgentPaths): AgentCredentials {
	finishInterruptedSwap(paths);
	return {key: readTextFile(paths.key, 'the agent key'), cert: readTextFile(paths.cert, 'the agent certificate'), ca: readTextFile(paths.ca, 'the CA certificate')};
}

/** Installs a new key and certificate as a pair; the one being replaced is kept by serial. */
export function installCredentials(paths: AgentPaths, replaced: {serial: string; cert: string}, next: {key: string; cert: string}): void {
	ensureDirectory(previousCertificatesDirectory(paths));
	writeFileAtomic(join(previousCertificatesDirectory(paths), `${replaced.serial}.pem`), replaced.cert, 0o644);
	const staged = nextPaths(paths);
	writeFileAtomic(staged.key, next.key, 0o600);
	writeFileAtomic(staged.cert, next.cert, 0o644);
	renameDurable(staged.key, paths.key);
	renameDurable(staged.cert, paths.cert);
}

/** Every certificate this agent has held, by serial file name (for verifying old checkpoints). */
export function previousCertificates(paths: AgentPaths): string[] {
	const directory = previousCertificatesDirectory(paths);
	if (!existsSync(directory)) {
		return [];
	}

	return readdirSync(directory).filter(name => name.endsWith('.pem')).map(name => readTextFile(join(directory, name), 'a previous agent certificate'));
}

/** Unpairing: the key, the certificate and the pins go; the audit log and the config stay. */
export function deleteCredentials(paths: AgentPaths): void {
	const next = nextPaths(paths);
	for (const path of [paths.key, paths.cert, paths.pins, next.key, next.cert]) {
		rmSync(path, {force: true});
	}
}
