/**
 * The approvals use case bound to one controller home and one caller, as every face takes it:
 * the CLI (`approvals`, `approve`, `reject`), the console's approvals screen, the REST API's
 * /v1/approvals and MCP. The caller is whoever presented the token (never the account the
 * process runs as); the face only translates input and renders what comes back.
 */
import {withControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import type {ControllerPaths} from '../home.js';
import {openTokenStore} from '../policy/token-store.js';
import {approveRequest, authenticateActor, listApprovals, rejectRequest, showApproval, type ActionSource, type ApprovalPorts, type ResolvePlanHash} from './approvals.js';
import type {ApprovalRequest} from './request.js';
import {openApprovalStore} from './store.js';

export type ApprovalsFace = {
	/** Open requests (pending or approved, not yet run), newest first; `all` adds the closed ones. */
	list: (options?: {all?: boolean}) => Promise<ApprovalRequest[]>;
	show: (id: string) => Promise<ApprovalRequest>;
	approve: (id: string, options?: {comment?: string}) => Promise<ApprovalRequest>;
	reject: (id: string, reason: string) => Promise<ApprovalRequest>;
};

export type ApprovalsFacePorts = {
	paths: ControllerPaths;
	/** Resolves a request's plan again and hashes it (the run use case). */
	resolvePlanHash: ResolvePlanHash;
	/** An audit log already open (the REST API's); else the home's is opened for each call. */
	audit?: AuditLog;
	now?: () => Date;
};

/** Who acts: the token they presented (undefined: none), and where from. */
export type ApprovalCaller = ActionSource & {token: string | undefined};

export function createApprovalsFace(ports: ApprovalsFacePorts, caller: ApprovalCaller): ApprovalsFace {
	const now = ports.now ?? (() => new Date());
	const from: ActionSource = {...(caller.source ? {source: caller.source} : {}), ...(caller.client ? {client: caller.client} : {})};
	const withPorts = async <T>(work: (approvals: ApprovalPorts) => Promise<T>): Promise<T> =>
		withControllerAudit(ports.paths, ports.audit, async audit => work({store: openApprovalStore(ports.paths.home, audit), audit, now}));
	const actor = async () => authenticateActor((await openTokenStore(ports.paths.home).read()).tokens, caller.token, now());
	return {
		list: async options => withPorts(async approvals => listApprovals(approvals, options)),
		show: async id => withPorts(async approvals => showApproval(approvals, id)),
		async approve(id, options = {}) {
			const who = await actor();
			return withPorts(async approvals => approveRequest(approvals, id, who, ports.resolvePlanHash, {...from, ...options}));
		},
		async reject(id, reason) {
			const who = await actor();
			return withPorts(async approvals => rejectRequest(approvals, id, who, reason, from));
		},
	};
}
