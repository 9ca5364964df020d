/** `xi-exec approvals|approve|reject`: the approvals face (approvals/face.ts), worded for a terminal. */
import {createApprovalsFace} from '../approvals/face.js';
import {resolvePlanHashAgain} from '../approvals/resolve-again.js';
import type {ApprovalRequest} from '../approvals/request.js';
import {approvalLines, approvalRow} from '../approvals/approval-text.js';
import {XiError} from '../errors.js';
import type {ControllerPaths} from '../home.js';
import type {CommandIo} from '../io/command-io.js';
import {safeJson} from '../output/visible.js';

function face(paths: ControllerPaths, token: string | undefined) {
	return createApprovalsFace({paths, resolvePlanHash: resolvePlanHashAgain(paths)}, {token});
}

/** What `--json` prints of a request: everything but the stored plan (its arguments are not all shown). */
export function approvalDocument(request: ApprovalRequest) {
	const {plan: _plan, ...shown} = request;
	return shown;
}

export async function approvalsCommand(paths: ControllerPaths, input: {verb: string | undefined; id: string | undefined; all: boolean; json: boolean}, io: CommandIo): Promise<number> {
	const approvals = face(paths, undefined);
	if (input.verb === 'show') {
		if (!input.id) {
			throw new XiError('USAGE', 'usage: xi-exec approvals show ID.');
		}

		const request = await approvals.show(input.id);
		io.stdout(input.json ? safeJson(approvalDocument(request), 2) + '\n' : approvalLines(request, new Date()).join('\n') + '\n');
		return 0;
	}

	if (input.verb !== undefined) {
		throw new XiError('USAGE', `unknown approvals command ${JSON.stringify(input.verb)}; use \`xi-exec approvals\` or \`xi-exec approvals show ID\`.`);
	}

	const requests = await approvals.list({all: input.all});
	if (input.json) {
		io.stdout(safeJson({approvals: requests.map(request => approvalDocument(request))}, 2) + '\n');
		return 0;
	}

	if (requests.length === 0) {
		io.stdout(input.all ? 'No approval requests.\n' : 'No runs wait for approval.\n');
	}

	for (const request of requests) {
		io.stdout(approvalRow(request) + '\n');
	}

	return 0;
}

export async function approveCommand(paths: ControllerPaths, input: {id: string | undefined; token: string | undefined; comment?: string; json: boolean}, io: CommandIo): Promise<number> {
	if (!input.id) {
		throw new XiError('USAGE', 'usage: xi-exec approve ID (`xi-exec approvals` lists them).');
	}

	const request = await face(paths, input.token).approve(input.id, input.comment === undefined ? {} : {comment: input.comment});
	if (input.json) {
		io.stdout(safeJson(approvalDocument(request), 2) + '\n');
	} else {
		io.stdout(request.state === 'approved'
			? `Approved ${request.id}: ${request.requester.token.name}'s run of ${request.summary.script} on ${request.summary.targets.length} ${request.summary.targets.length === 1 ? 'host' : 'hosts'} may start.\n`
			: `Your approval of ${request.id} is counted; it still needs more (\`xi-exec approvals show ${request.id.slice(0, 8)}\`).\n`);
	}

	return 0;
}

export async function rejectCommand(paths: ControllerPaths, input: {id: string | undefined; token: string | undefined; reason: string | undefined; json: boolean}, io: CommandIo): Promise<number> {
	if (!input.id || input.reason === undefined) {
		throw new XiError('USAGE', 'usage: xi-exec reject ID --reason TEXT (the requester reads the reason).');
	}

	const request = await face(paths, input.token).reject(input.id, input.reason);
	io.stdout(input.json ? safeJson(approvalDocument(request), 2) + '\n' : `Rejected ${request.id}; it will not run.\n`);
	return 0;
}
