import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const ca = defineCommand({
	name: 'ca',
	summary: 'the fleet CA: its fingerprint, or encrypt its key',
	usage: ['ca fingerprint', 'ca protect'],
	description: 'fingerprint prints the CA\'s SHA-256 (for xi-exec-agent pair --ca-sha256). protect encrypts the CA key\nwith XI_EXEC_CA_PASSPHRASE (12 characters at least); pairing, renewal and rotation need it from then on.',
	flags: {},
	takesArgs: true,
	examples: ['ca fingerprint', 'XI_EXEC_CA_PASSPHRASE=… xi-exec ca protect'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/ca.js');
		if (args[0] === 'protect' && args.length === 1) {
			const passphrase = ports.env['XI_EXEC_CA_PASSPHRASE'];
			if (!passphrase || passphrase.length < 12) {
				throw new XiError('USAGE', 'xi-exec ca protect takes the passphrase from XI_EXEC_CA_PASSPHRASE (12 characters at least).');
			}

			return commands.caProtectCommand(ports.paths, passphrase, io);
		}

		if (args[0] !== 'fingerprint' || args.length > 1) {
			throw new XiError('USAGE', 'usage: xi-exec ca fingerprint | xi-exec ca protect.');
		}

		const caSha256 = commands.caFingerprint(ports.paths);
		io.stdout(flags.json ? `${JSON.stringify({caSha256})}\n` : `${caSha256}\n`);
		return 0;
	},
});
