import {defineCommand} from '../../source/cli/command.js';
import type {AgentPorts} from './ports.js';

export const init = defineCommand({
	name: 'init',
	summary: 'set up the agent\'s home: its name, address and own tags',
	usage: ['init --name NAME --listen HOST:PORT [--advertise HOST:PORT] [--relay nats://HOST:PORT] [--tag KEY=VALUE]...', 'init --name NAME --listen none --relay nats://HOST:PORT [--tag KEY=VALUE]...'],
	flags: {
		name: {type: 'string', value: 'NAME', description: 'the agent\'s name ([a-z0-9][a-z0-9.-]*)'},
		listen: {type: 'string', value: 'HOST:PORT', description: 'where it listens for the controller (none: no port, the relay only)'},
		relay: {type: 'string', value: 'nats://HOST:PORT', description: 'the broker it dials out to, for a controller that cannot reach it'},
		advertise: {type: 'string', value: 'HOST:PORT', description: 'where the controller should dial (needed with a wildcard --listen)'},
		tag: {type: 'string', multiple: true, value: 'KEY=VALUE', description: 'a tag it proposes about itself (repeat)'},
	},
	needsHome: false,
	examples: ['init --name web1 --listen 10.0.0.5:7441 --tag env=production --tag role=web', 'init --name kiosk7 --listen none --relay nats://broker.example.net:4222'],
	async run({flags}, io, ports: AgentPorts) {
		const {initAgent} = await import('../commands.js');
		const name = initAgent(ports.paths, {name: flags.name, listen: flags.listen, advertise: flags.advertise, ...(flags.relay === undefined ? {} : {relay: flags.relay}), tags: flags.tag});
		io.stdout(`Agent ${name} is set up in ${ports.paths.home}.\nNext: allowlist scripts with \`xi-exec-agent allow NAME /path\`, then pair with \`xi-exec-agent pair --controller HOST:PORT\`.\n`);
		return 0;
	},
});

export const pair = defineCommand({
	name: 'pair',
	summary: 'pair with the controller: show a code, wait for approval, keep the certificate',
	usage: ['pair --controller HOST:PORT [--ca-sha256 HASH] [--timeout SECONDS] [--json]'],
	flags: {
		controller: {type: 'string', value: 'HOST:PORT', description: 'the controller\'s pairing listener (what xi-exec pair listens on)'},
		caSha256: {type: 'string', value: 'HASH', description: 'the CA\'s fingerprint (xi-exec ca fingerprint), checked before anything is sent'},
		timeout: {type: 'number', value: 'SECONDS', description: 'give up after this long (default 300)'},
	},
	examples: ['pair --controller 10.0.0.1:7400 --ca-sha256 3f1c…'],
	async run({flags}, io, ports: AgentPorts) {
		const {positiveInteger} = await import('../../source/cli/flags.js');
		const {pairCommand} = await import('../pair-command.js');
		return pairCommand(ports.paths, {
			controller: flags.controller,
			caSha256: flags.caSha256,
			json: flags.json,
			timeoutSeconds: positiveInteger('timeout', flags.timeout, {max: 86_400}) ?? 300,
		}, {stdout: io.stdout, interactive: ports.interactive});
	},
});

export const start = defineCommand({
	name: 'start',
	summary: 'serve the controller: run allowlisted scripts until stopped',
	usage: ['start [--home DIR]'],
	description: 'Runs in the foreground and logs JSON lines to stdout. SIGHUP reloads the allowlist and own tags;\nSIGTERM stops it after the runs in progress.',
	flags: {},
	async run(_input, _io, ports: AgentPorts) {
		const {startAgent} = await import('../start.js');
		return startAgent(ports.paths);
	},
});
