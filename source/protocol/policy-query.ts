/**
 * The question the agent's reference hook asks the controller's policy endpoint about a run
 * (POST /v1/policy/check), and its answer: shared by the hook's client and the controller's decision.
 */
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
};

export type PolicyAnswer = {allow: boolean; reason: string};
