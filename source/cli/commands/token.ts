import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';
import {excludeFlag, onFlag, selectorValues} from './selector-flags.js';

export const token = defineCommand({
	name: 'token',
	summary: 'scoped tokens: which scripts a caller may run, on which agents',
	usage: ['token create --name NAME --scripts a,b --on SELECTOR... [--exclude SELECTOR]... [--expires 30d] [--json]', 'token create --name NAME --operator [--scripts a,b] [--on SELECTOR...] [--expires 30d]', 'token list [--json]', 'token revoke NAME'],
	description: 'create prints the token once; only its hash is kept. A token is presented with XI_EXEC_TOKEN,\n--token-file or the REST API\'s Authorization header.',
	flags: {
		name: {type: 'string', value: 'NAME', description: 'with create: the token\'s name'},
		scripts: {type: 'string', value: 'a,b', description: 'with create: the scripts it may run'},
		on: {...onFlag, description: 'with create: the agents it may reach (repeat for OR)'},
		exclude: {...excludeFlag, description: 'with create: agents it may not reach'},
		expires: {type: 'string', value: 'DURATION', description: 'with create: when it stops working (30d, 12h)'},
		operator: {type: 'boolean', description: 'with create: an operator\'s own token, which approval rules can name (default scripts *, on all)'},
	},
	takesArgs: true,
	examples: ['token create --name deploy --scripts restart-web --on role=web --expires 30d', 'token create --name alice --operator', 'token revoke deploy'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const tokens = await import('../../commands/token.js');
		const [verb, name] = args;
		if (verb === 'create') {
			return tokens.tokenCreate(ports.paths, {name: flags.name, scripts: flags.scripts, on: await selectorValues(flags), expires: flags.expires, operator: flags.operator, json: flags.json}, io);
		}

		if (verb === 'list') {
			return tokens.tokenList(ports.paths, {json: flags.json}, io);
		}

		if (verb === 'revoke') {
			return tokens.tokenRevoke(ports.paths, name, io);
		}

		throw new XiError('USAGE', 'usage: xi-exec token create|list|revoke.');
	},
});
