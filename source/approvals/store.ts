/**
 * Pending approval requests on disk: `approvals.json` in the controller's home (0600), written
 * like the registry: every change under a cross-process lock, on the file as re-read inside it,
 * through the fsynced write path. Two controllers acting on one request at once therefore decide
 * one after the other, and the second sees what the first wrote. Requests closed longer ago than
 * `keepClosedMs` are dropped when the file is next changed (the audit trail keeps their story).
 *
 * An open request keeps its plan until it runs; the plan's secret arguments are sealed on the way
 * to the file and opened on the way back (sealed-args.ts), with `approvals.key` (0600, next to
 * it), so approvals.json alone (a backup, a copy in a bug report) never holds them.
 */
import {randomBytes} from 'node:crypto';
import {readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import type {RunPlan} from '../run/plan.js';
import type {ApprovalRequest} from './request.js';
import {openPlanArgs, sealPlanArgs} from './sealed-args.js';

export type ApprovalFile = {version: 1; requests: ApprovalRequest[]};
export type ApprovalStore = LockedJsonStore<ApprovalFile>;

export const approvalFileName = 'approvals.json';
export const approvalKeyName = 'approvals.key';
const keepClosedMs = 30 * 24 * 60 * 60 * 1000;

export function openApprovalStore(home: string): ApprovalStore {
	const file = openPlainStore(home);
	const key = (create: boolean) => approvalKey(join(home, approvalKeyName), create);
	return {
		read: async () => openRequests(await file.read(), key),
		update: async change => openRequests(await file.update(async data => sealRequests(await change(openRequests(data, key)), key)), key),
	};
}

/** Each open request's plan with its secret arguments opened; one that does not open keeps no plan (and cannot run). */
function openRequests(file: ApprovalFile, key: (create: boolean) => Buffer | undefined): ApprovalFile {
	if (!file.requests.some(request => request.sealed)) {
		return file;
	}

	const secret = key(false);
	return {...file, requests: file.requests.map(request => {
		const {sealed, plan, ...rest} = request;
		if (!sealed || !plan) {
			return {...rest, ...(plan ? {plan} : {})};
		}

		const opened = secret ? openPlanArgs(plan as RunPlan, sealed, request.id, secret) : `${approvalKeyName} is missing`;
		return typeof opened === 'string' ? {...rest, planProblem: opened} : {...rest, plan: opened};
	})};
}

function sealRequests(file: ApprovalFile, key: (create: boolean) => Buffer | undefined): ApprovalFile {
	return {...file, requests: file.requests.map(request => {
		const {sealed: _sealed, planProblem: _problem, plan, ...rest} = request;
		if (!plan) {
			return rest;
		}

		const run = plan as RunPlan;
		if (!Array.isArray(run.args) || !Array.isArray(run.shownArgs) || run.args.every((value, index) => run.shownArgs[index] === value)) {
			return {...rest, plan};
		}

		const kept = sealPlanArgs(run, request.id, key(true)!);
		return {...rest, plan: kept.plan, ...(kept.sealed ? {sealed: kept.sealed} : {})};
	})};
}

/** The home's approvals key: made (0600) when `create` and there is none; refused when others can read it. */
function approvalKey(path: string, create: boolean): Buffer | undefined {
	for (;;) {
		try {
			const mode = statSync(path).mode & 0o777;
			const key = readFileSync(path);
			if ((mode & 0o077) !== 0 || key.length !== 32) {
				throw new XiError('CONFIG_INVALID', `${path} must be 32 bytes that only the controller's account can read (mode 0600; it is ${mode.toString(8).padStart(4, '0')}, ${key.length} bytes): \`chmod 600 ${path}\`, or remove it, which makes the open requests with secret arguments unusable.`);
			}

			return key;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}
		}

		if (!create) {
			return undefined;
		}

		try {
			writeFileSync(path, randomBytes(32), {mode: 0o600, flag: 'wx'});
		} catch (error) {
			// Another process made it first: read theirs.
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
				throw error;
			}
		}
	}
}

function openPlainStore(home: string): LockedJsonStore<ApprovalFile> {
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
