import {XiError} from '../../errors.js';
import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';
import {excludeFlag, onFlag, selectorValues} from './selector-flags.js';

export const renew = defineCommand({
	name: 'renew',
	summary: 'renew agent certificates now (it also happens by itself)',
	usage: ['renew [--on SELECTOR]... [--exclude SELECTOR]...'],
	flags: {
		on: {...onFlag, description: 'only these agents (repeat for OR); default all'},
		exclude: excludeFlag,
	},
	async run({flags}, io, ports: ControllerPorts) {
		const {renewCommand} = await import('../../commands/certificates.js');
		return renewCommand(ports.paths, {on: await selectorValues(flags), json: flags.json}, io);
	},
});

export const rotate = defineCommand({
	name: 'rotate',
	summary: 'a new controller certificate, handed to every agent first',
	usage: ['rotate [--force]'],
	description: 'Hands the new serial to every agent over the old pinned channel; the old certificate stays in use until\nevery registered agent has it (a later rotate, or any run that reaches them, completes the handover).',
	flags: {
		force: {type: 'boolean', description: 'switch at once, naming the agents that must then be paired again'},
	},
	async run({flags}, io, ports: ControllerPorts) {
		const {rotateCommand} = await import('../../commands/certificates.js');
		return rotateCommand(ports.paths, {force: flags.force}, io);
	},
});

export const unpair = defineCommand({
	name: 'unpair',
	summary: 'revoke an agent and tell it to delete its credentials',
	usage: ['unpair NAME'],
	flags: {},
	takesArgs: true,
	async run({args}, io, ports: ControllerPorts) {
		if (args.length !== 1) {
			throw new XiError('USAGE', 'usage: xi-exec unpair NAME.');
		}

		const {unpairCommand} = await import('../../commands/certificates.js');
		return unpairCommand(ports.paths, {name: args[0]!}, io);
	},
});

export const doctor = defineCommand({
	name: 'doctor',
	summary: 'certificates and keys, checked before they expire',
	usage: ['doctor [--json]'],
	flags: {},
	exitCodes: [[1, 'a check failed']],
	async run({flags}, io, ports: ControllerPorts) {
		const {doctorCommand} = await import('../../commands/doctor.js');
		return doctorCommand(ports.paths, {json: flags.json}, io);
	},
});
