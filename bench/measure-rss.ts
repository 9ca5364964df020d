/**
 * RSS of one real agent against one bare node:tls server, alternating starts (see rss.ts for how):
 * idle after start-up, and the peak while each serves one run whose script prints 1 MiB
 * (`seq 1 165000`, just under the agent's 1 MiB output limit): the agent through the real
 * dispatcher, the bare server through the floor's client.
 */
import {randomUUID} from 'node:crypto';
import {chmodSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import {dispatch} from '../source/dispatch/dispatcher.js';
import {collectResults} from '../source/run/collect-results.js';
import {controllerPaths, loadControllerCredentials} from '../source/home.js';
import {allowScript} from '../agent/commands.js';
import {agentPaths} from '../agent/home.js';
import type {BareHostInput} from './bare-host.js';
import {loadIssuer, mintAgent} from './fleet.js';
import {floorFanOut} from './floor.js';
import {median} from './processes.js';
import type {Report} from './report.js';
import {agentRss, bareRss, compileBareHost} from './rss.js';
import {mebibytes, ratio} from './table.js';

/** 1,043,895 bytes of output: the numbers 1 to 165000, one a line. */
const bigOutput = {name: 'seq', path: '/usr/bin/seq', args: ['1', '165000'], bytes: 1_043_895};

export async function measureIdleRss(report: Report, options: {controllerHome: string; root: string; port: number; runs: number}, log: (text: string) => void): Promise<void> {
	const {root, port, runs} = options;
	const agent = await mintAgent(await loadIssuer(options.controllerHome), join(root, 'rss'), 'bench-rss', port);
	allowScript(agentPaths(agent.home), bigOutput.name, bigOutput.path, {description: '1 MiB of output'});
	// The bare server runs its script without arguments: the same command in a file of its own.
	const bareScript = join(root, 'seq-1mib.sh');
	writeFileSync(bareScript, `#!/bin/sh\nexec ${bigOutput.path} ${bigOutput.args.join(' ')}\n`);
	chmodSync(bareScript, 0o755);
	const bareHost = compileBareHost(join(root, 'bare-js'));
	const bareInput: BareHostInput = {script: bareScript, servers: [{port: port + 1, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')}]};
	const credentials = loadControllerCredentials(controllerPaths(options.controllerHome));
	const context = createClientContext(credentials);
	const failures: string[] = [];
	const agentRun = async () => {
		const collected = collectResults();
		await dispatch([agent.record], {requestId: randomUUID(), script: bigOutput.name, args: bigOutput.args, caller: 'bench@localhost', timeoutMs: 60_000, dryRun: false}, {context, parallel: 1, emit: collected.emit});
		const [result] = collected.results();
		if (result?.status !== 'ok' || Buffer.byteLength(result.stdout) !== bigOutput.bytes) {
			failures.push(`agent: ${result?.status} ${result?.reason ?? ''} (${Buffer.byteLength(result?.stdout ?? '')} bytes)`);
		}
	};

	const bareRun = async () => {
		const timing = await floorFanOut([port + 1], context.tls, 1);
		failures.push(...timing.failures.map(failure => `bare: ${failure}`));
	};

	log(`RSS idle and during a 1 MiB-output run, ${runs} starts each`);
	const agentSamples: Array<{idle: number; busy?: number}> = [];
	const bareSamples: Array<{idle: number; busy?: number}> = [];
	for (let run = 0; run < runs; run++) {
		agentSamples.push(await agentRss(agent.home, agentRun));
		bareSamples.push(await bareRss(bareHost, root, bareInput, bareRun));
	}

	const list = (values: number[]) => values.map(kib => mebibytes(kib)).join(', ');
	const idle = {agent: median(agentSamples.map(sample => sample.idle)), bare: median(bareSamples.map(sample => sample.idle))};
	const busy = {agent: median(agentSamples.map(sample => sample.busy ?? Number.NaN)), bare: median(bareSamples.map(sample => sample.busy ?? Number.NaN))};
	report.notes.push(
		`idle RSS agent: ${list(agentSamples.map(sample => sample.idle))}; bare: ${list(bareSamples.map(sample => sample.idle))}`,
		`RSS during a 1 MiB-output run, agent: ${list(agentSamples.map(sample => sample.busy ?? Number.NaN))}; bare: ${list(bareSamples.map(sample => sample.busy ?? Number.NaN))}`,
		...failures.map(failure => `1 MiB-output run not as expected: ${failure}`),
	);
	report.rows.push(
		{measure: 'idle RSS: xi-exec-agent start', value: mebibytes(idle.agent), ratio: `${ratio(idle.agent / idle.bare)} bare`, target: '≤ 1.15× bare', verdict: idle.agent / idle.bare <= 1.15 ? 'met' : 'MISSED'},
		{measure: 'idle RSS: bare node:tls server', value: mebibytes(idle.bare)},
		{measure: 'RSS during a 1 MiB-output run (seq 1 165000): agent', value: mebibytes(busy.agent), ratio: `${ratio(busy.agent / busy.bare)} bare`, ...(failures.length > 0 ? {verdict: 'INVALID' as const} : {})},
		{measure: 'RSS during a 1 MiB-output run: bare node:tls server', value: mebibytes(busy.bare)},
	);
}
