import {defineCommand} from '../command.js';
import {readCallerToken} from '../read-token.js';
import {packageVersion} from '../version.js';
import type {ControllerPorts} from './ports.js';

export const mcp = defineCommand({
	name: 'mcp',
	summary: 'the MCP server for AI agents, over stdio (the fleet\'s scripts as tools)',
	usage: ['mcp [--token-file FILE]'],
	description: 'An AI platform starts it as a subprocess. It refuses to start without a token (XI_EXEC_TOKEN or\n--token-file): an AI agent is always a named, scoped caller. Stdout carries the protocol only.',
	flags: {
		tokenFile: {type: 'string', value: 'FILE', description: 'read the caller\'s token from FILE (mode 0600)'},
	},
	examples: ['mcp --token-file ~/.config/triage-bot.token'],
	async run({flags}, io, ports: ControllerPorts) {
		const {serveMcpOverStdio} = await import('../../mcp/stdio.js');
		const token = readCallerToken({tokenFile: flags.tokenFile, env: ports.env, warn: io.stderr});
		return serveMcpOverStdio(ports.paths, {token, version: packageVersion()}, io);
	},
});
