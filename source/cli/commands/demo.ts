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
		const {demoCommand} = await import('../../demo/demo.js');
		return demoCommand(io, {
			interactive: ports.interactive,
			async openConsole(paths, caller) {
				const {createConsoleCore} = await import('../../ui/console-core.js');
				const {startConsole} = await import('../../ui/start-console.js');
				return startConsole(createConsoleCore(paths, {caller, pairListen: {host: '127.0.0.1', port: 0}}), 'xi-exec demo');
			},
			async tour(paths, tourIo) {
				const {agentsCommand} = await import('../../commands/agents.js');
				const {runCommand} = await import('../../commands/run.js');
				await agentsCommand(paths, {on: [], json: false, timeoutSeconds: 3}, tourIo);
				tourIo.stdout('\n$ xi-exec run check-service --on env=production\n');
				await runCommand(paths, {script: 'check-service', args: [], on: ['env=production'], parallel: 64, timeoutSeconds: 30, json: false, dryRun: false}, {...tourIo, onInterrupt() {
					// The demo's own handler stops everything.
				}});
			},
		});
	},
});
