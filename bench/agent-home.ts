/**
 * What a bench host process reads of one agent's home, as `xi-exec-agent start` reads it: its
 * config, pins, credentials and loaded allowlist (agent-host.ts and relay-host.ts share this).
 */
import {readTextFile} from '../source/io/files.js';
import {agentPaths, readAgentConfig, readAllowlistFile, readPins} from '../agent/home.js';
import {loadAllowlist, schemaCompilerFor} from '../agent/loaded-allowlist.js';
import {ownersFor} from '../agent/owners.js';

export async function readAgentHome(home: string) {
	const paths = agentPaths(home);
	const config = readAgentConfig(paths);
	const pins = readPins(paths);
	const credentials = {key: readTextFile(paths.key, 'the agent key'), cert: readTextFile(paths.cert, 'the agent certificate'), ca: readTextFile(paths.ca, 'the CA certificate')};
	const file = readAllowlistFile(paths);
	const allowlist = loadAllowlist(file, entry => ownersFor(entry.runAs), await schemaCompilerFor(file));
	return {paths, config, pins, credentials, allowlist};
}
