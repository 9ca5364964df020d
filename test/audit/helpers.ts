/** Keys, temporary directories, a fake clock and line surgery for the audit tests. */
import {createPublicKey} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {checkpointPayload, signerFromPem, verifierFromPems, type CheckpointSigner, type CheckpointVerifier} from '../../source/audit/checkpoint.js';
import {canonical, genesisHash, recordHash, type AuditRecord} from '../../source/audit/record.js';
import {generateKeyPair, privateKeyToPem} from '../../source/pki/keys.js';

export type AuditKey = {keyId: string; privatePem: string; publicPem: string; signer: CheckpointSigner; verifier: CheckpointVerifier};

export async function auditKey(keyId: string): Promise<AuditKey> {
	const pair = await generateKeyPair();
	const privatePem = await privateKeyToPem(pair.privateKey);
	const publicPem = createPublicKey(privatePem).export({type: 'spki', format: 'pem'}).toString();
	return {keyId, privatePem, publicPem, signer: signerFromPem(keyId, privatePem), verifier: verifierFromPems({[keyId]: publicPem})};
}

export function temporaryDirectory(t: ExecutionContext): string {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-audit-'));
	t.teardown(() => {
		rmSync(directory, {recursive: true, force: true});
	});
	return directory;
}

/** One second per reading, from a fixed start. */
export function fakeClock(start = '2026-01-14T10:00:00.000Z'): () => Date {
	let time = Date.parse(start);
	return () => {
		time += 1000;
		return new Date(time);
	};
}

/** The file's lines as `audit verify` reads them (split on newlines; the last is empty when the file ends with one). */
export function fileLines(path: string): string[] {
	return readFileSync(path, 'utf8').split('\n');
}

/** The records of the lines that parse (as `audit verify --cross` reads them). */
export {parseRecords as parseLines} from '../../source/audit/record.js';

export function withoutHash(record: AuditRecord): Omit<AuditRecord, 'hash'> {
	const {hash: _hash, ...rest} = record;
	return rest;
}

/**
 * Re-links records from `from` on, as whoever holds the file can: each `prev` is set to the hash
 * before it, each hash recomputed, and checkpoints' size and head restated. Without a signer the
 * old signatures stay (the tamperer lacks the key); with one they are signed again.
 */
export function rechain(records: readonly AuditRecord[], from: number, options: {signer?: CheckpointSigner; restateCheckpoints?: boolean} = {}): AuditRecord[] {
	const result = records.map(record => ({...record}));
	for (let index = from; index < result.length; index++) {
		const record = result[index]!;
		record.prev = index === 0 ? genesisHash : result[index - 1]!.hash;
		if (record.event === 'checkpoint' && (options.restateCheckpoints ?? true)) {
			record['size'] = record.seq;
			record['head'] = record.prev;
			if (options.signer) {
				record['signature'] = options.signer.sign(checkpointPayload({log: record.log, seq: record.seq, hash: record.prev}));
				record['keyId'] = options.signer.keyId;
			}
		}

		record.hash = recordHash(withoutHash(record));
	}

	return result;
}

export function linesOf(records: readonly AuditRecord[]): string[] {
	return [...records.map(record => canonical(record)), ''];
}
