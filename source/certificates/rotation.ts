/**
 * A controller certificate rotation, kept on disk so it survives across runs:
 *
 *   controller.next.key/.pem   the next identity, issued by the CA when the rotation starts
 *   rotation.json              its serial and the agents that have pinned it
 *
 * The controller keeps dialling with the current certificate until every registered agent has
 * pinned the next serial (or the operator forces it); completing renames the key, then the
 * certificate, so a crash in between leaves only controller.next.pem, which the next load moves.
 */
import {X509Certificate} from 'node:crypto';
import {rmSync} from 'node:fs';
import {dirname} from 'node:path';
import {renameDurable, syncDirectory} from '../io/durable-fs.js';
import {XiError} from '../errors.js';
import {existsSync, readJsonFile, readTextFile, writeFileAtomic} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {generateKeyPair, privateKeyToPem} from '../pki/keys.js';
import {issueCertificate, type CertificateAuthority} from '../pki/issue.js';

export type RotationState = {version: 1; serial: string; previousSerial: string; startedAt: string; caller: string; announced: string[]};

/**
 * Who has pinned the next serial is kept per pairing (`name@pairedAt`): an agent paired again
 * while the rotation is pending (a rebuilt host, `--replace`) has not, and is asked again.
 */
export function announcementKey(agent: {name: string; pairedAt: string}): string {
	return `${agent.name}@${agent.pairedAt}`;
}

/** Agents of the registry that have not pinned the next serial yet, by name. Pure. */
export function pendingAgents(state: RotationState, agents: ReadonlyArray<{name: string; pairedAt: string}>): string[] {
	const announced = new Set(state.announced);
	return agents.filter(agent => !announced.has(announcementKey(agent))).map(agent => agent.name);
}

export function withAnnounced(state: RotationState, agents: ReadonlyArray<{name: string; pairedAt: string}>): RotationState {
	return {...state, announced: [...new Set([...state.announced, ...agents.map(announcementKey)])].sort()};
}

export function readRotation(paths: ControllerPaths): RotationState | undefined {
	if (!existsSync(paths.rotation)) {
		return undefined;
	}

	const raw = readJsonFile(paths.rotation, 'the rotation state') as Partial<RotationState>;
	if (raw.version !== 1 || typeof raw.serial !== 'string' || typeof raw.previousSerial !== 'string' || !Array.isArray(raw.announced)) {
		throw new XiError('CONFIG_INVALID', `${paths.rotation} is malformed; remove it and controller.next.* to start the rotation again.`);
	}

	if (!existsSync(paths.nextControllerKey) && !existsSync(paths.nextControllerCert)) {
		// Completed, and the state file outlived it (a crash, or another process completing at the same time).
		if (currentControllerSerial(paths) === raw.serial) {
			rmSync(paths.rotation, {force: true});
			return undefined;
		}

		throw new XiError('CONFIG_INVALID', `${paths.rotation} names serial ${raw.serial}, but controller.next.key and .pem are gone; remove ${paths.rotation} to start the rotation again.`);
	}

	return raw as RotationState;
}

export function writeRotation(paths: ControllerPaths, state: RotationState): void {
	writeFileAtomic(paths.rotation, JSON.stringify(state, null, '\t') + '\n', 0o600);
}

export function currentControllerSerial(paths: ControllerPaths): string {
	return normaliseSerial(new X509Certificate(readTextFile(paths.controllerCert, 'the controller certificate')).serialNumber);
}

/**
 * Issues the next controller certificate and records the rotation as started. `beforeWrite` (the
 * audit record) runs once the certificate is issued and before anything is written: when it
 * throws, nothing on disk has changed.
 */
export async function startRotation(paths: ControllerPaths, ca: CertificateAuthority, now: Date, caller: string, beforeWrite: (state: RotationState) => Promise<void> = async () => undefined): Promise<RotationState> {
	const keys = await generateKeyPair();
	const certificate = await issueCertificate({ca, publicKey: keys.publicKey, identity: {role: 'controller'}, now});
	const state: RotationState = {
		version: 1,
		serial: normaliseSerial(certificate.serialNumber),
		previousSerial: currentControllerSerial(paths),
		startedAt: now.toISOString(),
		caller,
		announced: [],
	};
	await beforeWrite(state);
	writeFileAtomic(paths.nextControllerKey, await privateKeyToPem(keys.privateKey), 0o600);
	writeFileAtomic(paths.nextControllerCert, certificate.toString('pem'), 0o644);
	writeRotation(paths, state);
	return state;
}

/** Switches to the next controller certificate; the old key is deleted. */
export function completeRotation(paths: ControllerPaths): void {
	// Idempotent: another process may be completing the same rotation at the same moment.
	for (const [from, to] of [[paths.nextControllerKey, paths.controllerKey], [paths.nextControllerCert, paths.controllerCert]] as const) {
		try {
			renameDurable(from, to);
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}
		}
	}

	rmSync(paths.rotation, {force: true});
	syncDirectory(dirname(paths.rotation));
}
