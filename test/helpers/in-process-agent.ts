/**
 * An agent server in the test's own process, over a freshly enrolled home (real certificates, real
 * pins, mutual TLS on 127.0.0.1): for rows that need a port of the agent the CLI does not offer (a
 * recorder that notes records, a writer probe held by the test). `scripts` maps a script's name to
 * its path (timeout 60 s); `options` adds to or replaces the server's options, or is made from the
 * enrolled home's paths (a recorder over that home's own audit log).
 */
import {enrolAgent} from './fleet.js';
import {agentPaths, readAgentConfig, readPins, type AgentPaths} from '../../agent/home.js';
import {loadAllowlist} from '../../agent/loaded-allowlist.js';
import {ownersFor, runAsIds} from '../../agent/owners.js';
import {createAgentServer, type AgentServer, type AgentServerOptions} from '../../agent/server.js';
import {readTextFile} from '../../source/io/files.js';

type InProcessOptions = Partial<AgentServerOptions> & Pick<AgentServerOptions, 'recorder'>;

export async function inProcessAgent(controllerHome: string, name: string, scripts: Record<string, string>, given: InProcessOptions | ((paths: AgentPaths) => Promise<InProcessOptions>)): Promise<{server: AgentServer; home: string}> {
	const enrolled = await enrolAgent(controllerHome, {name, port: 0});
	const paths = agentPaths(enrolled.home);
	const options = typeof given === 'function' ? await given(paths) : given;
	const config = readAgentConfig(paths);
	const allowlist = loadAllowlist({scripts: Object.fromEntries(Object.entries(scripts).map(([script, path]) => [script, {path, description: script, timeoutSeconds: 60}]))}, entry => ownersFor(entry.runAs), undefined);
	const server = createAgentServer({
		config: {...config, limits: {...config.limits, maxConcurrentRuns: 4}},
		credentials: {key: readTextFile(paths.key, 'key'), cert: readTextFile(paths.cert, 'cert'), ca: readTextFile(paths.ca, 'ca')},
		pins: readPins(paths),
		allowlist: () => allowlist,
		ownersFor,
		runAsIds,
		log: () => undefined,
		now: Date.now,
		...options,
	});
	await new Promise<void>(resolve => {
		server.server.listen(0, '127.0.0.1', resolve);
	});
	return {server, home: enrolled.home};
}
