/** What the controller asks one agent to run: the fields of the `run` frame it sends (run-agent.ts). */
import type {ApprovalClaim, SignedHead, TokenClaim} from '../protocol/frames.js';

export type AgentRunRequest = {
	requestId: string;
	script: string;
	args: readonly string[];
	caller: string;
	timeoutMs: number;
	dryRun: boolean;
	token?: TokenClaim;
	controllerHead?: SignedHead;
	callerSource?: string;
	client?: string;
	/** The two-person approval the run executes. */
	approval?: ApprovalClaim;
	/** The positions of `args` that are secret: over the relay they are sealed to each agent's key. */
	secretPositions?: readonly number[];
	/** With an approval: each host's allowlist-entry digest in the approved plan (RunPlan.entries), sent to that host only. */
	approvedEntries?: Readonly<Record<string, string | null>>;
	/** A plan made from cached descriptions: each host's entry digest it was planned with (RunPlan.entries), sent to that host only as `entryDigest`. */
	plannedEntries?: Readonly<Record<string, string | null>>;
};

/**
 * The approval as one host is sent it: with the digest the approved plan holds of that host's
 * entry, which the agent checks against its entry now. A host the plan holds no digest for gets
 * none, and its agent refuses the run (what was approved of it cannot be checked).
 */
export function approvalFor(request: Pick<AgentRunRequest, 'approval' | 'approvedEntries'>, agent: string): ApprovalClaim | undefined {
	if (!request.approval) {
		return undefined;
	}

	const {entryDigest: _sent, ...claim} = request.approval;
	const digest = request.approvedEntries?.[agent];
	return typeof digest === 'string' ? {...claim, entryDigest: digest} : claim;
}
