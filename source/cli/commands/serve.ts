import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const serve = defineCommand({
	name: 'serve',
	summary: 'the REST API (and its OpenAPI document) over HTTPS',
	usage: ['serve [--listen HOST:PORT] [--cert FILE --key FILE]'],
	description: 'Callers present a scoped token (xi-exec token create). The server certificate is the home\'s server\ncertificate unless --cert and --key name another.',
	flags: {
		listen: {type: 'string', value: 'HOST:PORT', description: 'where to listen (default 127.0.0.1:8443)'},
		cert: {type: 'string', value: 'FILE', description: 'the server certificate (PEM)'},
		key: {type: 'string', value: 'FILE', description: 'its private key (PEM)'},
	},
	examples: ['serve --listen 0.0.0.0:8443'],
	async run({flags}, io, ports: ControllerPorts) {
		const [{serveCommand}, {mcpRoute}, {readMcpSettings}] = await Promise.all([import('../../api/serve-command.js'), import('../../mcp/http.js'), import('../../mcp/settings.js')]);
		return serveCommand(ports.paths, {listen: flags.listen, cert: flags.cert, key: flags.key, mounts: [mcpRoute(readMcpSettings(ports.paths))]}, io);
	},
});
