/** The structured claims a frame may carry (a signed head, a token scope, an approval), checked field by field. */
import type {ApprovalClaim, SignedHead, TokenClaim} from './frames.js';
import {sha256Pattern} from './decode-frame.js';
import {hasControl} from './text-checks.js';

export function isSignedHead(value: unknown): value is SignedHead {
	const head = value as Partial<SignedHead> | null;
	return typeof head === 'object' && head !== null && typeof head.log === 'string' && Number.isSafeInteger(head.seq) && typeof head.hash === 'string' && typeof head.signature === 'string' && typeof head.keyId === 'string';
}

/** Exported for the controller's policy endpoint, which reads the same claim from an agent's hook. */
export function isApprovalClaim(value: unknown): value is ApprovalClaim {
	const claim = value as Partial<ApprovalClaim> | null;
	const short = (text: unknown, max: number) => typeof text === 'string' && text.length > 0 && text.length <= max && !hasControl(text);
	const keys = claim === null || typeof claim !== 'object' ? [] : Object.keys(claim);
	const digest = claim?.entryDigest === undefined ? keys.length === 4 : keys.length === 5 && typeof claim.entryDigest === 'string' && sha256Pattern.test(claim.entryDigest);
	return typeof claim === 'object' && claim !== null && !Array.isArray(claim) && digest
		&& short(claim.id, 64) && short(claim.at, 40) && typeof claim.planHash === 'string' && sha256Pattern.test(claim.planHash)
		&& Array.isArray(claim.approvers) && claim.approvers.length > 0 && claim.approvers.length <= 10 && claim.approvers.every(name => short(name, 63));
}

export function isTokenClaim(value: unknown): value is TokenClaim {
	const claim = value as Partial<TokenClaim> | null;
	const strings = (list: unknown) => Array.isArray(list) && list.every(item => typeof item === 'string');
	return typeof claim === 'object' && claim !== null && typeof claim.id === 'string' && typeof claim.name === 'string' && strings(claim.scripts) && strings(claim.on) && (claim.expiresAt === null || typeof claim.expiresAt === 'string');
}

export function isStringRecord(value: unknown): value is Record<string, string> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(item => typeof item === 'string');
}
