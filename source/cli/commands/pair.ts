import {positiveInteger} from '../flags.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const pair = defineCommand({
	name: 'pair',
	summary: 'open the pairing listener; approve NAME CODE on stdin',
	usage: ['pair --listen HOST:PORT [--replace] [--timeout SECONDS] [--json]'],
	description: 'Each agent that dials in (xi-exec-agent pair --controller HOST:PORT) shows a code; type\n`approve NAME CODE` (or `reject NAME`) to pin it and issue its certificate.',
	flags: {
		listen: {type: 'string', value: 'HOST:PORT', description: 'where agents dial in'},
		replace: {type: 'boolean', description: 'pair again an agent name the registry already has'},
		timeout: {type: 'number', value: 'SECONDS', description: 'close the listener after this long (default 300)'},
	},
	examples: ['pair --listen 10.0.0.1:7400'],
	async run({flags}, io, ports: ControllerPorts) {
		const {pairCommand} = await import('../../commands/pair.js');
		return pairCommand(ports.paths, {
			listen: flags.listen,
			json: flags.json,
			replace: flags.replace,
			timeoutSeconds: positiveInteger('timeout', flags.timeout, {max: 86_400}) ?? 300,
		}, {...io, stdin: ports.stdin});
	},
});
