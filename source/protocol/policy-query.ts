/**
 * The question the agent's reference hook asks the controller's policy endpoint about a run
 * (POST /v1/policy/check), and its answer: shared by the hook's client and the controller's decision.
 */
import type {ApprovalClaim} from './frames.js';

export type PolicyContext = {
	requestId: string;
	agent: {name: string; tags: Record<string, string>};
	script: string;
	args: string[];
	caller: string;
	token: ({id: string; name?: string} & Record<string, unknown>) | null;
	source: string;
	timestamp: string | number;
	dryRun: boolean;
	/** The approval the run executes, as the controller sent it; absent or null without one. */
	approval?: ApprovalClaim | null;
};

export type PolicyAnswer = {allow: boolean; reason: string};
