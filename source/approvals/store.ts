/**
 * Pending approval requests on disk: `approvals.json` in the controller's home (0600, since an
 * open request keeps its plan's arguments until it runs), written like the registry: every change
 * under a cross-process lock, on the file as re-read inside it, through the fsynced write path.
 * Two controllers acting on one request at once therefore decide one after the other, and the
 * second sees what the first wrote. Requests closed longer ago than `keepClosedMs` are dropped
 * when the file is next changed (the audit trail keeps their story).
 */
import {join} from 'node:path';
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import type {ApprovalRequest} from './request.js';

export type ApprovalFile = {version: 1; requests: ApprovalRequest[]};
export type ApprovalStore = LockedJsonStore<ApprovalFile>;

export const approvalFileName = 'approvals.json';
const keepClosedMs = 30 * 24 * 60 * 60 * 1000;

export function openApprovalStore(home: string): ApprovalStore {
	return openLockedJsonStore<ApprovalFile>(join(home, approvalFileName), {
		what: 'approval store',
		empty: () => ({version: 1, requests: []}),
		parse(value) {
			const file = value as ApprovalFile | null;
			return file && file.version === 1 && Array.isArray(file.requests) && file.requests.every(isRequestShaped) ? file : 'expected {"version": 1, "requests": [...]} with an id, state, planHash and requester in each';
		},
	});
}

/** Drops requests closed (or used) longer ago than the retention; open ones always stay. Pure. */
export function pruneClosed(file: ApprovalFile, now: Date): ApprovalFile {
	const cutoff = now.getTime() - keepClosedMs;
	const requests = file.requests.filter(request => {
		const endedAt = request.usedAt ?? request.closed?.at;
		return endedAt === undefined || new Date(endedAt).getTime() >= cutoff;
	});
	return requests.length === file.requests.length ? file : {...file, requests};
}

function isRequestShaped(value: unknown): boolean {
	const request = value as Partial<ApprovalRequest> | null;
	return typeof request?.id === 'string' && typeof request.state === 'string' && typeof request.planHash === 'string'
		&& typeof request.requester?.token?.id === 'string' && Array.isArray(request.votes) && Array.isArray(request.needs);
}
