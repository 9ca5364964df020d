/** What the agent's commands are given: its home's paths and the process's surroundings. */
import type {AgentPaths} from '../home.js';

export type AgentPorts = {
	paths: AgentPaths;
	env: NodeJS.ProcessEnv;
	/** stdin is a terminal: the pairing code can be shown for a person to read. */
	interactive: boolean;
};
