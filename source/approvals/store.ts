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
 *
 * The whole file is checked on every read: version 2 carries an HMAC-SHA256, under the same key,
 * of its canonical JSON (requests, their summaries, plans, votes and states), so a hand edit (a
 * summary that shows approvers other hosts than the plan holds, a vote added, a request removed),
 * a torn copy, or a file from another controller's home is refused with one CONFIG_INVALID error
 * (and an `approvals.refused` audit record when the caller gives its audit log), never read as
 * something to approve. The key is made at the first write, so a home with the key and no file
 * has lost its file: refused too, instead of starting afresh and losing the pending requests. A
 * version 1 file (before this check) is read when it holds no open request, or when the home has
 * no key yet (no version 2 was ever written here), and is written back as version 2.
 */
import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto';
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {AuditLog} from '../audit/file-log.js';
import {canonical} from '../audit/record.js';
import {isXiError, XiError} from '../errors.js';
import {openLockedJsonStore, type LockedJsonStore} from '../io/locked-json-store.js';
import type {RunPlan} from '../run/plan.js';
import type {ApprovalRequest} from './request.js';
import {openPlanArgs, sealPlanArgs} from './sealed-args.js';

export type ApprovalFile = {version: 1 | 2; requests: ApprovalRequest[]; mac?: string};
export type ApprovalStore = LockedJsonStore<ApprovalFile>;

export const approvalFileName = 'approvals.json';
export const approvalKeyName = 'approvals.key';
const keepClosedMs = 30 * 24 * 60 * 60 * 1000;

/** `audit`: where a refused file is recorded (`approvals.refused`), when the caller has the controller's audit log open. */
export function openApprovalStore(home: string, audit?: Pick<AuditLog, 'append'>): ApprovalStore {
	const key = (create: boolean) => approvalKey(join(home, approvalKeyName), create);
	const file = openPlainStore(home, () => key(false));
	const checked = async <T>(work: () => Promise<T>): Promise<T> => {
		try {
			lostFile(home);
			return await work();
		} catch (error) {
			if (audit && isXiError(error) && error.code === 'CONFIG_INVALID') {
				await audit.append({event: 'approvals.refused', reason: error.message}).catch(() => undefined);
			}

			throw error;
		}
	};

	return {
		read: async () => checked(async () => openRequests(await file.read(), key)),
		update: async change => checked(async () => openRequests(await file.update(async data => signed(sealRequests(await change(openRequests(data, key)), key), key(true)!)), key)),
	};
}

/** Refuses a home whose approvals.json is gone while its key is there (the key is made at the first write). */
function lostFile(home: string): void {
	const path = join(home, approvalFileName);
	if (!existsSync(path) && existsSync(join(home, approvalKeyName))) {
		throw new XiError('CONFIG_INVALID', `The approval store at ${path} is missing, but ${approvalKeyName} beside it shows it was written: the requests it held (pending ones too) are gone. Restore it from a backup, or remove ${join(home, approvalKeyName)} to start with no requests.`);
	}
}

/** The HMAC of a file's version and requests under the home's approvals key. Pure. */
export function approvalFileMac(file: Pick<ApprovalFile, 'version' | 'requests'>, key: Buffer): string {
	return createHmac('sha256', key).update('xi-exec approvals v2\n').update(canonical({version: file.version, requests: file.requests})).digest('hex');
}

function signed(file: ApprovalFile, key: Buffer): ApprovalFile {
	const {mac: _mac, ...rest} = file;
	return {...rest, version: 2, mac: approvalFileMac({version: 2, requests: file.requests}, key)};
}

/** Why the file as parsed may not be used (its HMAC, or a version 1 file where one is no longer accepted); undefined when it may. */
function integrityProblem(file: ApprovalFile, key: () => Buffer | undefined): string | undefined {
	const secret = key();
	if (file.version === 1) {
		const open = file.requests.some(request => request.state === 'pending' || request.state === 'approved');
		return secret === undefined || !open ? undefined : `it is a version 1 file (no integrity check) holding open requests in a home that has written version 2 files; restore the version 2 file from a backup, or move it aside to drop its requests`;
	}

	if (secret === undefined) {
		return `${approvalKeyName} beside it is missing, so its integrity cannot be checked; restore the key from a backup, or move both aside to start with no requests`;
	}

	const expected = Buffer.from(approvalFileMac(file, secret), 'hex');
	const found = Buffer.from(typeof file.mac === 'string' ? file.mac : '', 'hex');
	return found.length === expected.length && timingSafeEqual(found, expected)
		? undefined
		: 'its integrity check failed (it was edited by hand, torn, or comes from another controller\'s home); restore it from a backup, or move it aside to drop its requests';
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

function openPlainStore(home: string, key: () => Buffer | undefined): LockedJsonStore<ApprovalFile> {
	return openLockedJsonStore<ApprovalFile>(join(home, approvalFileName), {
		what: 'approval store',
		empty: () => ({version: 1, requests: []}),
		parse(value) {
			const file = value as ApprovalFile | null;
			if (!file || (file.version !== 1 && file.version !== 2) || !Array.isArray(file.requests) || !file.requests.every(isRequestShaped)) {
				return 'expected {"version": 2, "requests": [...], "mac": "..."} with an id, state, planHash and requester in each request';
			}

			return integrityProblem(file, key) ?? file;
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
