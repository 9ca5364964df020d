/**
 * The broker's subjects, one set per agent and none shared (no broadcast):
 *
 *   xi.a.<agent>.req         requests to one agent (only that agent may subscribe; the controller publishes)
 *   xi.r.<agent>.<request>   that agent's replies to one request (only that agent may publish)
 *   xi.p.<agent>             that agent's presence (only that agent may publish)
 *
 * A NATS subject token cannot hold a dot, and agent names may (`[a-z0-9][a-z0-9.-]*`): a dot is
 * written `_`, which no agent name holds, so the mapping is one to one. Request ids hold no dot.
 */
export const relaySubjectRoot = 'xi';

export function subjectToken(agent: string): string {
	return agent.replaceAll('.', '_');
}

export const relaySubjects = {
	requests: (agent: string) => `${relaySubjectRoot}.a.${subjectToken(agent)}.req`,
	reply: (agent: string, requestId: string) => `${relaySubjectRoot}.r.${subjectToken(agent)}.${requestId}`,
	replies: (agent: string) => `${relaySubjectRoot}.r.${subjectToken(agent)}.*`,
	presence: (agent: string) => `${relaySubjectRoot}.p.${subjectToken(agent)}`,
	/** What the controller subscribes to: every agent's replies and presence. */
	allReplies: `${relaySubjectRoot}.r.>`,
	allPresence: `${relaySubjectRoot}.p.*`,
	/** What the controller publishes to: any one agent's requests (a wildcard in a permission, never a subject it sends to). */
	anyRequests: `${relaySubjectRoot}.a.*.req`,
} as const;
