import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const consoleCommand = defineCommand({
	name: 'console',
	summary: 'the console (what `xi-exec` alone opens in a terminal)',
	usage: ['console [--pair-listen HOST:PORT]', '[--pair-listen HOST:PORT]'],
	flags: {
		pairListen: {type: 'string', value: 'HOST:PORT', description: 'where the pairing screen listens (default 0.0.0.0:7400)'},
	},
	async run({flags}, _io, ports: ControllerPorts) {
		const {parseHostPort} = await import('../../io/address.js');
		const pairListen = parseHostPort(flags.pairListen ?? '0.0.0.0:7400');
		if (typeof pairListen === 'string') {
			throw new XiError('USAGE', `--pair-listen ${pairListen}.`);
		}

		const {createConsoleCore} = await import('../../ui/console-core.js');
		const {defaultCaller} = await import('../../io/command-io.js');
		const token = ports.env['XI_EXEC_TOKEN']?.trim();
		const core = createConsoleCore(ports.paths, {caller: defaultCaller(), pairListen, ...(token ? {token} : {})});
		const {startConsole} = await import('../../ui/start-console.js');
		try {
			return await startConsole(core);
		} finally {
			await core.close?.();
		}
	},
});
