/**
 * An approval request in words, for the CLI and the console: the one line that says a run waits,
 * a row per request, and the plan in full (the exact hosts, the arguments with secrets hashed,
 * the controller policy's answer for each host, what else the plan fixes, who approved). Text that came from callers and agents is made
 * visible (visible.ts). Pure: `now` comes in.
 */
import {foldNames} from '../run/group-output.js';
import {answerLines} from './host-answers.js';
import {approverNames, outstanding, type ApprovalRequest} from './request.js';
import {describeNeeds} from './requirement.js';
import {visible} from '../output/visible.js';

/** `waiting for approval: request 7c1e… (needs 1 of: token:lead-*)`. */
export function waitingLine(request: ApprovalRequest): string {
	return `waiting for approval: request ${request.id} (needs ${describeNeeds({rules: request.needs})})`;
}

/** One row: short id, state, script, host count, requester, then what is missing (the plan's lines say when it expires). */
export function approvalRow(request: ApprovalRequest): string {
	const hosts = `${request.summary.targets.length} ${request.summary.targets.length === 1 ? 'host' : 'hosts'}`;
	const left = request.state === 'pending' ? `needs ${outstanding(request)}` : request.state === 'approved' ? `approved by ${approverNames(request)}` : stateWords(request);
	return [request.id.slice(0, 8), request.state.padEnd(8), visible(request.summary.script).padEnd(14), hosts.padEnd(8), visible(request.requester.token.name).padEnd(8), left].join(' ');
}

/** The plan and the request's story, one fact a line. */
export function approvalLines(request: ApprovalRequest, now: Date): string[] {
	const {summary} = request;
	const lines = [
		`request  ${request.id}  ${request.state}${timeLeft(request, now) ? `  ${timeLeft(request, now)}` : ''}`,
		`asked    by ${visible(request.requester.token.name)} (${visible(request.requester.caller)}${request.requester.ai ? ', an AI caller' : ''}) at ${request.createdAt}`,
		`script   ${visible(summary.script)}`,
		`args     ${summary.args.length === 0 ? '(none)' : summary.args.map(arg => visible(JSON.stringify(arg))).join(' ')}`,
		`hosts    ${summary.targets.length}: ${foldNames(summary.targets)}`,
		...answerLines(summary.hosts ?? [], summary.script).map((line, index) => `${index === 0 ? 'policy  ' : '        '} ${visible(line)}`),
	];
	for (const [key, value] of Object.entries(summary.details ?? {})) {
		if (value !== undefined && value !== null) {
			lines.push(`${key.padEnd(8)} ${visible(typeof value === 'string' ? value : JSON.stringify(value))}`);
		}
	}

	lines.push(
		`plan     sha256 ${request.planHash}`,
		`needs    ${describeNeeds({rules: request.needs})}${request.needs.length > 1 ? '' : ` (rule ${visible(JSON.stringify(request.needs[0]?.name ?? ''))})`}`,
		`approved ${request.votes.length === 0 ? '(nobody yet)' : request.votes.map(vote => `${visible(vote.token.name)} at ${vote.at}${vote.comment ? ` ("${visible(vote.comment)}")` : ''}`).join(', ')}`,
	);
	if (request.state !== 'pending' && request.state !== 'approved') {
		lines.push(`outcome  ${stateWords(request)}`);
	}

	return lines;
}

function stateWords(request: ApprovalRequest): string {
	switch (request.state) {
		case 'used': {
			return `ran as ${request.runRequestId ?? '?'} at ${request.usedAt ?? '?'}`;
		}

		case 'rejected': {
			return `rejected by ${visible(request.closed?.by?.name ?? '?')}: ${visible(request.closed?.reason ?? '')}`;
		}

		default: {
			return `${request.state}: ${visible(request.closed?.reason ?? '')}`;
		}
	}
}

/** `expires in 29 min` while open; nothing once closed. */
function timeLeft(request: ApprovalRequest, now: Date): string {
	if (request.state !== 'pending' && request.state !== 'approved') {
		return '';
	}

	const ms = new Date(request.expiresAt).getTime() - now.getTime();
	if (ms <= 0) {
		return 'expired';
	}

	const minutes = Math.ceil(ms / 60_000);
	return minutes < 120 ? `expires in ${minutes} min` : `expires in ${Math.round(minutes / 60)} h`;
}
