/**
 * A worker process hosting many real agents: for each agent home listed in the JSON file given as
 * its argument, the same set-up as `xi-exec-agent start` (config, pins, credentials, allowlist,
 * `createAgentServer`, the real stdout log) on that agent's own port, and the same records
 * (agent/start-records.ts): each agent's own audit log in its own home, held, with every run's
 * records batched and fsynced and a signed checkpoint per run; the replay guard's memory on disk;
 * the home's modes checked before every run. So a bench charges our agents what a real one pays.
 * What differs: many agents share one process (a real agent has a process of its own), no relay,
 * no metrics, no hook, no SIGHUP reload, and no run cgroups (none here: no writable cgroup v2).
 * The floor (bare-host.ts) keeps no records at all: that is the point of the comparison.
 * Reports readiness over IPC; exits on SIGTERM, SIGINT or when the bench goes away (closing each
 * audit log with its last checkpoint).
 *
 *   node --import=tsx bench/agent-host.ts HOMES.json
 */
import {readFileSync} from 'node:fs';
import {parseHostPort} from '../source/io/address.js';
import {ownersFor, runAsIds} from '../agent/owners.js';
import {createAgentServer, type AgentServer} from '../agent/server.js';
import {stdoutLog} from '../agent/start.js';
import {openStartRecords, type StartRecords} from '../agent/start-records.js';
import {readAgentHome} from './agent-home.js';
import {announce, exitWhenAsked} from './host-protocol.js';

const homes = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[];
const servers: AgentServer[] = [];
const records: StartRecords[] = [];

async function startOne(home: string): Promise<void> {
	const {paths, config, pins, credentials, allowlist} = await readAgentHome(home);
	const listen = parseHostPort(config.listen);
	if (typeof listen === 'string') {
		throw new TypeError(`${paths.config}: ${listen}`);
	}

	const {audit, ...recording} = await openStartRecords(paths, config, pins, stdoutLog);
	records.push({audit, ...recording});
	const agent = createAgentServer({config, credentials, pins, allowlist: () => allowlist, ownersFor, runAsIds, log: stdoutLog, now: Date.now, ...recording});
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
	await Promise.allSettled(records.map(each => each.audit.close()));
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
