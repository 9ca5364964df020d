import {positiveInteger} from '../flags.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';
import {excludeFlag, onFlag, selectorValues} from './selector-flags.js';

export const agents = defineCommand({
	name: 'agents',
	summary: 'list agents, asking each what it runs',
	usage: ['agents [--on SELECTOR]... [--exclude SELECTOR]... [--timeout SECONDS] [--json]'],
	flags: {
		on: {...onFlag, description: 'only these agents (repeat for OR); default all'},
		exclude: excludeFlag,
		timeout: {type: 'number', value: 'SECONDS', description: 'how long to wait for each agent (default 3, at most 300)'},
	},
	examples: ['agents', 'agents --on env=production --json'],
	async run({flags}, io, ports: ControllerPorts) {
		const {agentsCommand} = await import('../../commands/agents.js');
		return agentsCommand(ports.paths, {
			on: await selectorValues(flags),
			json: flags.json,
			timeoutSeconds: positiveInteger('timeout', flags.timeout, {max: 300}) ?? 3,
		}, io);
	},
});
