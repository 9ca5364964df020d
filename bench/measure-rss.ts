/** Idle RSS of one real agent against one bare node:tls server, alternating starts (see rss.ts for how). */
import {join} from 'node:path';
import type {BareHostInput} from './bare-host.js';
import {loadIssuer, mintAgent, script} from './fleet.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {agentIdleRss, bareIdleRss, compileBareHost} from './rss.js';
import {mebibytes, ratio} from './table.js';

export async function measureIdleRss(report: Report, options: {controllerHome: string; root: string; port: number; runs: number}, log: (text: string) => void): Promise<void> {
	const {root, port, runs} = options;
	const agent = await mintAgent(await loadIssuer(options.controllerHome), join(root, 'rss'), 'bench-rss', port);
	const bareHost = compileBareHost(join(root, 'bare-js'));
	const bareInput: BareHostInput = {script: script.path, servers: [{port: port + 1, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')}]};
	log(`idle RSS, ${runs} starts each`);
	const agentRss: number[] = [];
	const bareRss: number[] = [];
	for (let run = 0; run < runs; run++) {
		agentRss.push(await agentIdleRss(agent.home));
		bareRss.push(await bareIdleRss(bareHost, root, bareInput));
	}

	report.notes.push(`idle RSS agent: ${agentRss.map(kib => mebibytes(kib)).join(', ')}; bare: ${bareRss.map(kib => mebibytes(kib)).join(', ')}`);
	const ours = median(agentRss);
	const bare = median(bareRss);
	report.rows.push(
		{measure: 'idle RSS: xi-exec-agent start', value: mebibytes(ours), ratio: `${ratio(ours / bare)} bare`, target: '≤ 1.30× bare', verdict: ours / bare <= 1.3 ? 'met' : 'MISSED'},
		{measure: 'idle RSS: bare node:tls server', value: mebibytes(bare)},
	);
}
