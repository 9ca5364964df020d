import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const demo = defineCommand({
	name: 'demo',
	summary: 'a local demo fleet on loopback, paired for real, in the console',
	usage: ['demo'],
	description: 'Starts six agents in temporary homes, pairs each through the real ceremony and opens the console;\nwithout a terminal it runs a script on them and prints the result. Leaving stops everything it started.',
	flags: {},
	needsHome: false,
	async run(_input, io, ports: ControllerPorts) {
		const {demoCommand} = await import('../../commands/demo.js');
		return demoCommand(io, {interactive: ports.interactive});
	},
});
