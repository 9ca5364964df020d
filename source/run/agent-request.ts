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
};
