/**
 * When certificates need attention. Pure: the clock is an input, so tests move it across the
 * renewal threshold and past expiry instead of waiting.
 */
const day = 24 * 60 * 60 * 1000;

/** Renew when less than this fraction of a certificate's validity is left. */
export const defaultRenewalThreshold = 1 / 3;

/** Warn about the controller's own certificates and the CA this long before they expire. */
export const warnBeforeDays = 30;

export type Validity = {notBefore: Date; notAfter: Date};

export function renewalDue(validity: Validity, now: Date, threshold = defaultRenewalThreshold): boolean {
	const total = validity.notAfter.getTime() - validity.notBefore.getTime();
	const left = validity.notAfter.getTime() - now.getTime();
	return left > 0 && left < total * threshold;
}

/** An agent's validity as the registry records it (older records lack `certificateIssued`: assume 90 days). */
export function agentValidity(record: {certificateIssued?: string; certificateExpires: string}): Validity {
	const notAfter = new Date(record.certificateExpires);
	const notBefore = record.certificateIssued ? new Date(record.certificateIssued) : new Date(notAfter.getTime() - (90 * day));
	return {notBefore, notAfter};
}

export type ExpiryState = {state: 'ok' | 'expiring' | 'expired'; daysLeft: number};

export function expiryState(notAfter: Date, now: Date, warnDays = warnBeforeDays): ExpiryState {
	const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / day);
	if (notAfter.getTime() <= now.getTime()) {
		return {state: 'expired', daysLeft};
	}

	return {state: daysLeft < warnDays ? 'expiring' : 'ok', daysLeft};
}
