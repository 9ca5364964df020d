import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const relay = defineCommand({
	name: 'relay',
	summary: 'the NATS relay\'s broker: its certificate and its configuration',
	usage: ['relay cert --dir DIR --host NAME [--host NAME...]', 'relay config [--dir DIR] [--listen HOST:PORT] [--route nats://HOST:PORT...] [--reload]'],
	description: 'cert issues the broker\'s certificate (role xi-exec:broker) from the fleet CA into DIR, for the names\nclients dial it by. config writes DIR/nats-server.conf: TLS with the fleet CA and verify_and_map, one\nuser per relay agent of the registry with its own subjects only; with --route (each node of a\ncluster, three for production) the same file serves every node. Pairing and unpairing a relay agent\nwrite it again; --reload signals a broker running here.',
	flags: {
		dir: {type: 'string', value: 'DIR', description: 'the broker\'s directory (key, certificates, configuration)'},
		host: {type: 'string', multiple: true, value: 'NAME', description: 'cert: a DNS name or IP address clients dial the broker by'},
		listen: {type: 'string', value: 'HOST:PORT', description: 'config: where the broker takes clients (default 0.0.0.0:4222)'},
		route: {type: 'string', multiple: true, value: 'nats://HOST:PORT', description: 'config: a cluster node\'s route address (repeat for each node)'},
		clusterName: {type: 'string', value: 'NAME', description: 'config: the cluster\'s name (default xi-exec)'},
		clusterListen: {type: 'string', value: 'HOST:PORT', description: 'config: where a node takes routes (default 0.0.0.0:6222)'},
		reload: {type: 'boolean', description: 'config: ask the broker running here to reload (SIGHUP to the pid in DIR/nats-server.pid)'},
	},
	takesArgs: true,
	examples: [
		'relay cert --dir /etc/xi-exec-broker --host broker.example.net',
		'relay config --dir /etc/xi-exec-broker --listen 0.0.0.0:4222',
		'relay config --dir /etc/xi-exec-broker --route nats://b1.example.net:6222 --route nats://b2.example.net:6222 --route nats://b3.example.net:6222',
	],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/relay.js');
		if (args[0] === 'cert' && args.length === 1) {
			return commands.relayCertCommand(ports.paths, {dir: flags.dir, hosts: flags.host, json: flags.json}, io);
		}

		if (args[0] === 'config' && args.length === 1) {
			return commands.relayConfigCommand(ports.paths, {
				...(flags.dir === undefined ? {} : {dir: flags.dir}),
				...(flags.listen === undefined ? {} : {listen: flags.listen}),
				...(flags.clusterName === undefined ? {} : {clusterName: flags.clusterName}),
				...(flags.clusterListen === undefined ? {} : {clusterListen: flags.clusterListen}),
				routes: flags.route,
				reload: flags.reload,
				json: flags.json,
			}, io);
		}

		throw new XiError('USAGE', 'usage: xi-exec relay cert --dir DIR --host NAME | xi-exec relay config [--dir DIR] [--listen HOST:PORT] [--route nats://HOST:PORT...] [--reload].');
	},
});
