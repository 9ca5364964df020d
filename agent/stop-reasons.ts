/**
 * Why a run was stopped before it ended, when nobody cancelled it: the abort reasons the agent's
 * server gives, and the words a result and the audit use for them. A run the controller cancelled
 * (a cancel frame) is "cancelled by the controller" and names who asked; a dropped connection or
 * an agent shutting down is neither, and is never reported as one.
 */
export const stopReasons = {
	connectionLost: 'the connection to the controller was lost',
	agentStopping: 'the agent is shutting down',
} as const;

const known = new Set<unknown>(Object.values(stopReasons));

/** The result's reason for a run stopped by `signal`'s reason. */
export function stoppedReason(reason: unknown): string {
	return known.has(reason) ? `stopped: ${String(reason)} (not a cancel)` : 'cancelled by the controller';
}

/**
 * The result's reason for a run stopped before its script started (`when`: "before it started",
 * "while queued"): nothing ran, and an agent stopping is still not a cancel.
 */
export function notStartedReason(reason: unknown, when: string): string {
	return known.has(reason) ? `stopped ${when}: ${String(reason)} (not a cancel); nothing ran` : `cancelled by the controller ${when}; nothing ran`;
}

/** Who cancelled, for the audit: nobody when the run was stopped for one of the reasons above. */
export function cancelledByFor(reason: unknown, caller: string): string | undefined {
	if (known.has(reason)) {
		return undefined;
	}

	return typeof reason === 'string' ? reason : caller;
}
