/** What verifying an audit log found (core/audit.ts verifyAudit), for the faces to word (output/audit-text.ts). */
import type {AnchorVerdict} from './anchor.js';
import type {CrossProblem} from './cross-verify.js';
import type {SetVerdict} from './verify-set.js';

/**
 * One agent's log in a cross check, in the order it is checked: a log with no records at all
 * (`missing`: deleted, or emptied) is not checked further; else its tail against the head the
 * controller witnessed (`cut`, only when that does not hold), then its chain (`verdict`), or why
 * its checkpoint signatures cannot be checked (`problem`).
 */
export type AgentLogVerdict =
	| {file: string; missing: 'deleted' | 'emptied'}
	| {file: string; agent: string; cut?: AnchorVerdict & {ok: false}} & ({verdict: SetVerdict} | {problem: string});

export type AuditVerification = {
	/** The log verified (its current file). */
	path: string;
	verdict: SetVerdict;
	/** The log's head against its anchor file, when one was named and the chain holds. */
	anchor?: AnchorVerdict;
	/** Only with agent logs to check, and only when the controller's own log holds. */
	cross?: {agents: AgentLogVerdict[]; problems: CrossProblem[]};
};
