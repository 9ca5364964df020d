import {defineCommand, type Command, type FlagSpecs} from '../command.js';
import type {ControllerPorts} from './ports.js';

function tagCommand(mode: 'set' | 'unset'): Command<FlagSpecs, ControllerPorts> {
	const name = mode === 'set' ? 'tag' : 'untag';
	return defineCommand({
		name,
		summary: mode === 'set' ? 'set an agent\'s tags in the registry' : 'remove tags from an agent in the registry',
		usage: [mode === 'set' ? 'tag NAME KEY=VALUE... [--json]' : 'untag NAME KEY... [--json]'],
		description: 'The registry is authoritative: selectors match its tags, whatever the agent proposes about itself.',
		flags: {},
		takesArgs: true,
		examples: [mode === 'set' ? 'tag web1 env=production role=web' : 'untag web1 role'],
		async run({flags, args, rest}, io, ports: ControllerPorts) {
			const {tagCommand: change} = await import('../../commands/tag.js');
			const [agent, ...words] = [...args, ...rest];
			return change(ports.paths, {name: agent, words, mode, json: flags.json}, io);
		},
	});
}

export const tag = tagCommand('set');
export const untag = tagCommand('unset');
