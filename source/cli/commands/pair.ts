import {positiveInteger} from '../flags.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const pair = defineCommand({
	name: 'pair',
	summary: 'open the pairing listener; approve NAME CODE on stdin',
	usage: ['pair --listen HOST:PORT [--transport tls|nats|both] [--relay nats://HOST:PORT] [--replace] [--timeout SECONDS] [--json]'],
	description: 'Each agent that dials in (xi-exec-agent pair --controller HOST:PORT) shows a code; type\n`approve NAME CODE` (or `reject NAME`) to pin it and issue its certificate. With --transport nats\nor both, approved agents are reached through the broker at --relay, which gets their users and\nis reloaded (xi-exec relay config first).',
	flags: {
		listen: {type: 'string', value: 'HOST:PORT', description: 'where agents dial in'},
		replace: {type: 'boolean', description: 'pair again an agent name the registry already has'},
		transport: {type: 'string', value: 'tls|nats|both', description: 'how approved agents are reached (default: as each agent asks: tls, or the relay its config names)'},
		relay: {type: 'string', value: 'nats://HOST:PORT', description: 'the broker for --transport nats or both (default: the one the agent names)'},
		timeout: {type: 'number', value: 'SECONDS', description: 'close the listener after this long (default 300)'},
	},
	examples: ['pair --listen 10.0.0.1:7400', 'pair --listen 10.0.0.1:7400 --transport nats --relay nats://broker.example.net:4222'],
	async run({flags}, io, ports: ControllerPorts) {
		const {pairCommand} = await import('../../commands/pair.js');
		return pairCommand(ports.paths, {
			listen: flags.listen,
			json: flags.json,
			replace: flags.replace,
			...(flags.transport === undefined ? {} : {transport: flags.transport}),
			...(flags.relay === undefined ? {} : {relay: flags.relay}),
			timeoutSeconds: positiveInteger('timeout', flags.timeout, {max: 86_400}) ?? 300,
		}, {...io, stdin: ports.stdin});
	},
});
