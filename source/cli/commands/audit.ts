import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const audit = defineCommand({
	name: 'audit',
	summary: 'read the audit log, or check its hash chain and checkpoints',
	usage: ['audit [--request ID] [--agent NAME] [--since 1h] [--json]', 'audit verify [--cross AGENT-LOG...]'],
	description: 'verify checks the chain and the signed checkpoints of this log (and of the agents\' logs given with\n--cross, against the controller\'s records of them).',
	flags: {
		request: {type: 'string', value: 'ID', description: 'only the records of this request (a run\'s id)'},
		agent: {type: 'string', value: 'NAME', description: 'only the records naming this agent'},
		since: {type: 'string', value: 'DURATION', description: 'only the records of the last 1h, 2d, ...'},
		cross: {type: 'string', multiple: true, value: 'AGENT-LOG', description: 'with verify: an agent\'s audit log to check against this one'},
	},
	takesArgs: true,
	examples: ['audit --since 1h', 'audit verify --cross web1.jsonl'],
	exitCodes: [[1, 'verify: the chain or a checkpoint does not hold, or a log was deleted, emptied or cut off']],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/audit.js');
		const {paths} = ports;
		if (args[0] === 'verify') {
			const {controllerAnchorPath, controllerAuditVerifier, agentVerifierFromRegistry} = await import('../../audit/controller-log.js');
			// `--cross logs/*.jsonl`: the shell gives the flag one log and the rest as words; each is checked, none ignored.
			const agentLogs = [...flags.cross, ...args.slice(1)];
			if (flags.cross.length === 0 && agentLogs.length > 0) {
				throw new XiError('USAGE', `audit verify checks agent logs only with --cross: xi-exec audit verify --cross ${agentLogs.join(' ')}`);
			}

			if (agentLogs.length === 0) {
				return commands.auditVerifyCommand(paths.auditLog, controllerAuditVerifier(paths), io, undefined, controllerAnchorPath(paths), {json: flags.json});
			}

			const {openControllerRegistry} = await import('../../home.js');
			const registry = await openControllerRegistry(paths).read();
			return commands.auditVerifyCommand(paths.auditLog, controllerAuditVerifier(paths), io, {agentLogs, agentVerifier: agent => agentVerifierFromRegistry(registry, agent)}, controllerAnchorPath(paths), {json: flags.json});
		}

		if (args.length > 0) {
			throw new XiError('USAGE', `unknown audit command ${JSON.stringify(args[0])}; use \`xi-exec audit\` or \`xi-exec audit verify\`.`);
		}

		return commands.auditListCommand(paths.auditLog, {request: flags.request, agent: flags.agent, since: flags.since, json: flags.json}, io);
	},
});
