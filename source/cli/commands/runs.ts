import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const runs = defineCommand({
	name: 'runs',
	summary: 'the runs this controller made, and one run\'s record',
	usage: ['runs [--json]', 'runs show ID [--agent NAME] [--json]'],
	flags: {
		agent: {type: 'string', value: 'NAME', description: 'with show: only this agent\'s output'},
	},
	takesArgs: true,
	examples: ['runs', 'runs show 0b7c… --agent web1'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const history = await import('../../commands/runs.js');
		if (args[0] === 'show') {
			return history.runsShowCommand(ports.paths, {id: args[1], agent: flags.agent, json: flags.json}, io);
		}

		if (args.length > 0) {
			throw new XiError('USAGE', `unknown runs command ${JSON.stringify(args[0])}; use \`xi-exec runs\` or \`xi-exec runs show ID\`.`);
		}

		return history.runsListCommand(ports.paths, {json: flags.json}, io);
	},
});

export const cancel = defineCommand({
	name: 'cancel',
	summary: 'cancel a run from another terminal',
	usage: ['cancel ID'],
	description: 'Tells every agent still running run ID to stop it (the run\'s own process shows the hosts as cancelled).\nID may be a runbook run\'s: as `xi-exec runbook cancel ID`.',
	flags: {},
	takesArgs: true,
	async run({args}, io, ports: ControllerPorts) {
		const {cancelCommand} = await import('../../commands/runs.js');
		return cancelCommand(ports.paths, args[0], io);
	},
});
