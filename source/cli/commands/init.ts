import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const init = defineCommand({
	name: 'init',
	summary: 'create the fleet CA and the controller\'s keys in the home',
	usage: ['init [--home DIR]'],
	description: 'Makes the home (default $XI_EXEC_HOME, else ~/.xi-exec): the CA, the controller, server and audit\nkeys, an empty registry and audit log. Refused when the home already holds a CA.',
	flags: {},
	needsHome: false,
	examples: ['init', 'init --home /srv/xi-exec'],
	async run(_input, io, ports: ControllerPorts) {
		const {initCommand} = await import('../../commands/init.js');
		return initCommand(ports.paths, io);
	},
});
