/** `audit` and `audit verify`, for both executables: the audit use cases (core/audit.ts), worded (output/audit-text.ts). */
import type {CheckpointVerifier} from '../audit/checkpoint.js';
import {listAuditRecords, verifyAudit, type AuditFilter, type CrossCheck} from '../core/audit.js';
import type {CommandIo} from '../io/command-io.js';
import {printAuditRecords, writeAuditVerification} from '../output/audit-text.js';

export function auditListCommand(path: string, input: AuditFilter & {json: boolean}, io: CommandIo, now = new Date()): number {
	const records = listAuditRecords(path, input, now);
	printAuditRecords(records, {json: input.json, filtered: Boolean(input.request || input.agent || input.since), path}, io.stdout);
	return 0;
}

/**
 * `audit verify`: the log's chain and checkpoints, then its head against the anchor file the
 * writer keeps beside it (`anchorPath`); with `cross`, each agent log too. `--json` gives the same
 * words sorted by what they say (verifyReport).
 */
export function auditVerifyCommand(path: string, verifier: CheckpointVerifier, io: CommandIo, cross?: CrossCheck, anchorPath?: string, options: {json?: boolean} = {}): number {
	return writeAuditVerification(verifyAudit(path, verifier, cross, anchorPath), options, io.stdout);
}
