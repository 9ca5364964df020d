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
 * BENCH_AGENT_RECORDS=0: no records at all — a recorder that writes nothing (each result carries
 * the signed head written at start), no replay memory on disk, no home check: what the agent costs
 * beside its records, against the floor. BENCH_AGENT_HEAP=DIR: V8's sampling heap profiler from
 * ready to exit (heap-sample.ts: freed objects counted), written to DIR/agent-host-*.json with the
 * requests decided meanwhile and the host program's path (which checkout's), for bytes allocated per run and the sites that allocate the most.
 *
 * Started by hosts.ts as plain JavaScript with the agent's code from dist/ (built-host.ts), as a real
 * agent runs it; by hand, the same through tsx from source:
 *
 *   node --import=tsx bench/agent-host.ts HOMES.json
 */
import {randomUUID} from 'node:crypto';
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseHostPort} from '../source/io/address.js';
import {ownersFor, runAsIds} from '../agent/owners.js';
import {createAgentServer, type AgentServer} from '../agent/server.js';
import {stdoutLog} from '../agent/start.js';
import {openStartRecords, type StartRecords} from '../agent/start-records.js';
import {readAgentHome} from './agent-home.js';
import {announce, exitWhenAsked} from './host-protocol.js';
import {startAllocationSampling, type Allocations} from './heap-sample.js';

const homes = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as string[];
const servers: AgentServer[] = [];
const records: StartRecords[] = [];
const recordsOff = process.env['BENCH_AGENT_RECORDS'] === '0';
const heapDirectory = process.env['BENCH_AGENT_HEAP'];
/** Requests decided (one per run, dry or not), counted for BENCH_AGENT_HEAP. */
let decided = 0;

/** The recording a server is given: the real one, counting decisions; or, records off, nothing written. */
function recordingFor(recording: Omit<StartRecords, 'audit'>): Omit<StartRecords, 'audit' | 'replayMemory'> & Partial<Pick<StartRecords, 'replayMemory'>> {
	const {recorder} = recording;
	const head = recorder.signedHead();
	const record: typeof recorder.record = recordsOff
		? async event => {
			decided += event === 'decision' ? 1 : 0;
		}
		: async (event, fields) => {
			decided += event === 'decision' ? 1 : 0;
			return recorder.record(event, fields);
		};
	if (recordsOff) {
		return {checkpoint: async () => undefined, homeProblem: () => undefined, recorder: {record, signedHead: () => head}};
	}

	return {...recording, recorder: heapDirectory ? {record, signedHead: recorder.signedHead} : recorder};
}

async function startOne(home: string): Promise<void> {
	const {paths, config, pins, credentials, allowlist} = await readAgentHome(home);
	const listen = parseHostPort(config.listen);
	if (typeof listen === 'string') {
		throw new TypeError(`${paths.config}: ${listen}`);
	}

	const {audit, ...recording} = await openStartRecords(paths, config, pins, stdoutLog);
	records.push({audit, ...recording});
	const agent = createAgentServer({config, credentials, pins, allowlist: () => allowlist, ownersFor, runAsIds, log: stdoutLog, now: Date.now, ...recordingFor(recording)});
	servers.push(agent);
	await new Promise<void>((resolve, reject) => {
		agent.server.once('error', reject);
		agent.server.listen(listen.port, listen.host, () => {
			agent.server.off('error', reject);
			resolve();
		});
	});
}

let stopSampling: (() => Promise<Allocations>) | undefined;
exitWhenAsked(async () => {
	if (stopSampling) {
		const allocations = await stopSampling();
		writeFileSync(join(heapDirectory!, `agent-host-${randomUUID()}.json`), JSON.stringify({program: process.argv[1], decided, recordsOff, ...allocations, sites: allocations.sites.slice(0, 60)}));
	}

	await Promise.allSettled(servers.map(server => server.close()));
	await Promise.allSettled(records.map(each => each.audit.close()));
});

try {
	for (const home of homes) {
		await startOne(home);
	}

	stopSampling = heapDirectory ? await startAllocationSampling() : undefined;
	announce({ready: servers.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
