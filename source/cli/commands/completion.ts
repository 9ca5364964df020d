import {defineCommand} from '../command.js';
import type {ControllerPorts} from './ports.js';

export const completion = defineCommand({
	name: 'completion',
	summary: 'shell completion for bash or zsh: subcommands, flags, agents, tags, scripts',
	usage: ['completion bash', 'completion zsh'],
	description: 'Prints a script to source from your shell\'s start-up file. Agent names and tags come from the\nregistry, script names from the history and the last `xi-exec agents`; nothing dials an agent.',
	flags: {
		list: {type: 'string', value: 'KIND', description: 'what the scripts call while you press Tab: agents, selectors, scripts or runs, one a line'},
	},
	takesArgs: true,
	needsHome: false,
	examples: ['completion bash >> ~/.bashrc', 'source <(xi-exec completion zsh)'],
	async run({flags, args}, io, ports: ControllerPorts) {
		const commands = await import('../../commands/completion.js');
		if (flags.list !== undefined) {
			return commands.completionList(ports.paths, flags.list, io);
		}

		const {controllerCommands} = await import('./index.js');
		const {completionSpec} = await import('../completion-spec.js');
		io.stdout(commands.completionScript(args[0], completionSpec('xi-exec', controllerCommands)));
		return 0;
	},
});
