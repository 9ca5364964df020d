/** `xi-exec approvals`, `approve ID`, `reject ID --reason`: two-person approval from the command line. */
import {defineCommand} from '../command.js';
import {readCallerToken} from '../read-token.js';
import type {ControllerPorts} from './ports.js';

const tokenFlags = {
	tokenFile: {type: 'string', value: 'FILE', description: 'read your operator token from FILE (mode 0600); else XI_EXEC_TOKEN'},
} as const;

export const approvals = defineCommand({
	name: 'approvals',
	summary: 'runs waiting for a second operator\'s approval',
	usage: ['approvals [--all] [--json]', 'approvals show ID [--json]'],
	description: 'Lists the approval requests still open (pending, or approved and not yet run), newest first;\n--all adds the closed ones (used, rejected, invalidated, expired). show prints one plan in full.',
	flags: {
		all: {type: 'boolean', description: 'closed requests too'},
	},
	takesArgs: true,
	examples: ['approvals', 'approvals show 7c1e', 'approvals --all --json'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const {approvalsCommand} = await import('../../commands/approvals.js');
		return approvalsCommand(ports.paths, {verb: args[0], id: args[1], all: flags.all, json: flags.json}, io);
	},
});

export const approve = defineCommand({
	name: 'approve',
	summary: 'approve another operator\'s run (with your own operator token)',
	usage: ['approve ID [--comment TEXT] [--json]'],
	description: 'Approves request ID (the full id or a unique prefix) as the operator whose token you present\n(XI_EXEC_TOKEN or --token-file). The plan is resolved again first: if a host joined or left,\nan allowlist or the arguments changed, the request is invalidated instead. The requester\'s\nwaiting `xi-exec run` then starts, or they start it with `xi-exec run --approved ID`.',
	flags: {
		...tokenFlags,
		comment: {type: 'string', value: 'TEXT', description: 'a note kept in the audit trail'},
	},
	takesArgs: true,
	examples: ['approve 7c1e', 'XI_EXEC_TOKEN=$(cat ~/.lead-token) xi-exec approve 7c1e2a90 --comment "checked with the DBA"'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const {approveCommand} = await import('../../commands/approvals.js');
		const token = readCallerToken({tokenFile: flags.tokenFile, env: ports.env, warn: io.stderr});
		return approveCommand(ports.paths, {id: args[0], token, ...(flags.comment === undefined ? {} : {comment: flags.comment}), json: flags.json}, io);
	},
});

export const reject = defineCommand({
	name: 'reject',
	summary: 'reject a run waiting for approval, saying why',
	usage: ['reject ID --reason TEXT [--json]'],
	description: 'Rejects request ID as the operator whose token you present; the requester reads the reason.\nThe requester may reject (withdraw) their own request.',
	flags: {
		...tokenFlags,
		reason: {type: 'string', value: 'TEXT', description: 'why (required)'},
	},
	takesArgs: true,
	examples: ['reject 7c1e --reason "not during the freeze"'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const {rejectCommand} = await import('../../commands/approvals.js');
		const token = readCallerToken({tokenFile: flags.tokenFile, env: ports.env, warn: io.stderr});
		return rejectCommand(ports.paths, {id: args[0], token, reason: flags.reason, json: flags.json}, io);
	},
});
