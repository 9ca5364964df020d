/**
 * A worker process hosting many real agents: for each agent home listed in the JSON file given as
 * its argument, the same set-up as `xi-exec-agent start` (config, pins, credentials, allowlist,
 * `createAgentServer`, the real stdout log) on that agent's own port. Reports readiness over IPC;
 * exits on SIGTERM, SIGINT or when the bench goes away.
 *
 *   node --import=tsx bench/agent-host.ts HOMES.json
 */
import {readFileSync} from 'node:fs';
import {parseHostPort} from '../source/io/address.js';
import {ownersFor, runAsIds} from '../agent/owners.js';
import {createAgentServer, type AgentServer} from '../agent/server.js';
import {stdoutLog} from '../agent/start.js';
import {readAgentHome} from './agent-home.js';
import {announce, exitWhenAsked} from './host-protocol.js';

const homes = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[];
const servers: AgentServer[] = [];

async function startOne(home: string): Promise<void> {
	const {paths, config, pins, credentials, allowlist} = await readAgentHome(home);
	const listen = parseHostPort(config.listen);
	if (typeof listen === 'string') {
		throw new TypeError(`${paths.config}: ${listen}`);
	}

	const agent = createAgentServer({config, credentials, pins, allowlist: () => allowlist, ownersFor, runAsIds, log: stdoutLog, now: Date.now});
	servers.push(agent);
	await new Promise<void>((resolve, reject) => {
		agent.server.once('error', reject);
		agent.server.listen(listen.port, listen.host, () => {
			agent.server.off('error', reject);
			resolve();
		});
	});
}

exitWhenAsked(async () => {
	await Promise.allSettled(servers.map(server => server.close()));
});

try {
	for (const home of homes) {
		await startOne(home);
	}

	announce({ready: servers.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
