/** The agent's command table (`xi-exec-agent COMMAND`), in the order the overview lists them. */
import type {CommandTable} from '../../source/cli/command.js';
import type {Program} from '../../source/cli/help.js';
import {allow, deny, scripts, tag} from './allowlist.js';
import {audit} from './audit.js';
import type {AgentPorts} from './ports.js';
import {init, pair, start} from './setup.js';

export const agentCommands: CommandTable<AgentPorts> = Object.fromEntries(
	[init, allow, deny, scripts, tag, pair, start, audit].map(command => [command.name, command]),
);

export const agentProgram: Program = {
	name: 'xi-exec-agent',
	about: `xi-exec-agent: runs only the scripts on its allowlist, for a controller whose certificate it pinned
at pairing. \`allow\` and \`deny\` take effect at once in a running agent (SIGHUP reloads too).`,
	home: 'the agent\'s home (default $XI_EXEC_AGENT_HOME, else /var/lib/xi-exec-agent as root, ~/.xi-exec-agent otherwise)',
	exitCodes: [[0, 'done'], [1, 'not done'], [2, 'bad usage, or refused']],
};
