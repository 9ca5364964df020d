/**
 * Signed checkpoints: every so often a record states the log's size and head hash, signed with a
 * key the writer holds (the agent's own key; the controller's audit key, certified by the fleet
 * CA). A chain alone cannot reveal a cut-off tail or a rewrite by whoever holds the file; a
 * signature over the head can, for anyone without the key. ECDSA P-256 with SHA-256 (node:crypto).
 */
import {createPrivateKey, createPublicKey, sign, verify, type KeyObject} from 'node:crypto';
import {canonical, type ChainHead} from './record.js';

export type CheckpointSigner = {keyId: string; sign: (data: Buffer) => string};
export type CheckpointVerifier = {keyIds: string[]; verify: (keyId: string, data: Buffer, signature: string) => boolean};

export function checkpointPayload(head: ChainHead): Buffer {
	return Buffer.from(`xi-exec audit checkpoint v1\n${canonical({hash: head.hash, log: head.log, seq: head.seq})}`);
}

export function signerFromPem(keyId: string, privateKeyPem: string): CheckpointSigner {
	const key = createPrivateKey(privateKeyPem);
	return {keyId, sign: data => sign('sha256', data, key).toString('base64')};
}

/** Verifies with any of the given public keys (certificates or public keys in PEM), by key id. */
export function verifierFromPems(keys: Record<string, string>): CheckpointVerifier {
	const objects = new Map<string, KeyObject>(Object.entries(keys).map(([id, pem]) => [id, createPublicKey(pem)]));
	return {
		keyIds: [...objects.keys()],
		verify(keyId, data, signature) {
			const key = objects.get(keyId);
			if (!key) {
				return false;
			}

			try {
				return verify('sha256', data, key, Buffer.from(signature, 'base64'));
			} catch {
				return false;
			}
		},
	};
}
