/**
 * The demo's agent homes (`xi-exec demo`, source/demo/): given one JSON argument, initialises an
 * agent home and allowlists its sample scripts (`{home, name, listen, tags, scripts}`), or moves
 * an agent to another port (`{home, listen}`). A program of its own, run once per agent: the
 * controller's demo sets its agents up as `xi-exec-agent init` and `allow` would, without
 * importing the agent (an agent's home is the agent's to write). Exits 1 with the reason on stderr.
 */
import {allowScript, initAgent, type AllowOptions} from '../commands.js';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../home.js';

export type DemoHomeSpec =
	| {home: string; name: string; listen: string; tags: string[]; scripts: Array<{name: string; path: string; options: AllowOptions}>}
	| {home: string; listen: string};

try {
	const spec = JSON.parse(process.argv[2] ?? '') as DemoHomeSpec;
	const paths = agentPaths(spec.home);
	if ('name' in spec) {
		initAgent(paths, {name: spec.name, listen: spec.listen, tags: spec.tags});
		for (const script of spec.scripts) {
			allowScript(paths, script.name, script.path, script.options);
		}
	} else {
		writeAgentConfig(paths, {...readAgentConfig(paths), listen: spec.listen});
	}
} catch (error) {
	process.stderr.write(`xi-exec demo: an agent home could not be set up: ${(error as Error).message}\n`);
	process.exitCode = 1;
}
