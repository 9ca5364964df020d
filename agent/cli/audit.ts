import {XiError} from '../../source/errors.js';
import {defineCommand} from '../../source/cli/command.js';
import type {AgentPorts} from './ports.js';

export const audit = defineCommand({
	name: 'audit',
	summary: 'read this agent\'s audit log, or check its hash chain and signed checkpoints',
	usage: ['audit [--request ID] [--since 1h] [--json]', 'audit verify'],
	flags: {
		request: {type: 'string', value: 'ID', description: 'only the records of this request (a run\'s id)'},
		since: {type: 'string', value: 'DURATION', description: 'only the records of the last 1h, 2d, ...'},
	},
	takesArgs: true,
	exitCodes: [[1, 'verify: the chain or a checkpoint does not hold, or the log was deleted, emptied or cut off (audit-head.json)']],
	async run({flags, args}, io, ports: AgentPorts) {
		const core = await import('../../source/core/audit.js');
		const text = await import('../../source/output/audit-text.js');
		const log = ports.paths.auditLog;
		if (args[0] === 'verify') {
			const {agentAnchorPath, agentAuditVerifier} = await import('../agent-audit.js');
			return text.writeAuditVerification(core.verifyAudit(log, agentAuditVerifier(ports.paths), undefined, agentAnchorPath(ports.paths)), {json: flags.json}, io.stdout);
		}

		if (args.length > 0) {
			throw new XiError('USAGE', `unknown audit command ${JSON.stringify(args[0])}; use \`xi-exec-agent audit\` or \`xi-exec-agent audit verify\`.`);
		}

		const records = core.listAuditRecords(log, {request: flags.request, since: flags.since}, new Date());
		text.printAuditRecords(records, {json: flags.json, filtered: Boolean(flags.request || flags.since), path: log}, io.stdout);
		return 0;
	},
});
