/**
 * The one-shot as an operator on a real network feels it, on its own (the fan-out bench measures it
 * too, after its N=100 rows): `xi-exec run SCRIPT --on ONE` against `ssh host true`, both through
 * the bench's delaying proxy (delay-proxy.ts, `delayMs` each way), alternating, with the round trips
 * the proxy counted on every connection of each. Then where a real one-shot's time goes (marks):
 * the built CLI with a preload (one-shot-marks.ts) that notes the CPU it has used and the wall time
 * at its first TCP connect, the TLS handshake done, the request written, the agent's first bytes,
 * and exit; on loopback and through the proxy. Before the connect is what no round trip hides.
 */
import type {ChildProcess} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import ts from 'typescript';
import type {DelayHostInput} from './delay-host.js';
import {agentHost} from './environment.js';
import {controllerHomeWith, script, type BenchFleet} from './fleet.js';
import type {HostMessage} from './host-protocol.js';
import {benchDirectory, cpuMs, startHosts} from './hosts.js';
import {sshRun, type LoopbackSshd, type SshTools} from './loopback-sshd.js';
import {cliRun, controllerCli} from './ours.js';
import {firstLine, median, runTimed, sleep} from './processes.js';
import {alternate, verdict, withCpu, type Attempt, type Report} from './report.js';
import type {MarkName, Marks} from './one-shot-marks.js';
import {ratio, seconds} from './table.js';

export type OneShotLatencyOptions = {
	fleet: BenchFleet;
	/** The CPU of the agent's host process so far, in ms. */
	agentsCpu: () => number;
	ssh?: {tools: SshTools; sshd: LoopbackSshd};
	delayMs: number;
	runs: number;
	directory: string;
	/** Two free ports: the agent's proxy and sshd's. */
	firstPort: number;
};

/** Asks the proxy process for the round trips of the connections that ended since the last time. */
async function takeCounts(proxy: ChildProcess): Promise<number[]> {
	// The proxy sees its side of a connection close just after the client's: give it a moment.
	await sleep(300);
	return new Promise(resolve => {
		const listen = (message: HostMessage) => {
			if ('counts' in message) {
				proxy.off('message', listen);
				resolve(message.counts.flatMap(route => route.roundTrips));
			}
		};

		proxy.on('message', listen);
		proxy.send({take: true});
	});
}

/** `run`, then the round trips of its connections, kept in `counted`. */
async function counting(proxy: ChildProcess, counted: number[][], run: () => Promise<Attempt>): Promise<Attempt> {
	await takeCounts(proxy);
	const attempt = await run();
	counted.push(await takeCounts(proxy));
	return attempt;
}

const tripsNote = (counted: readonly number[][]) => {
	const last = counted.at(-1) ?? [];
	return `${last.reduce((sum, count) => sum + count, 0)} round trips in ${last.length} connection${last.length === 1 ? '' : 's'} (${last.join(' + ')})`;
};

export async function measureOneShotLatency(report: Report, options: OneShotLatencyOptions, log: (text: string) => void): Promise<void> {
	const {fleet, delayMs, firstPort} = options;
	const rtt = `${2 * delayMs} ms RTT`;
	const agent = fleet.agents[0]!;
	const input: DelayHostInput = {delayMs, routes: [{listen: firstPort, target: agent.port, targetHost: agentHost}, ...(options.ssh ? [{listen: firstPort + 1, target: options.ssh.sshd.port}] : [])]};
	const proxies = await startHosts('delay-host.ts', [input], options.directory, {name: 'one-shot-proxy'});
	const proxy = proxies.processes[0]!;
	try {
		const home = await controllerHomeWith(fleet, options.directory, 1, () => firstPort);
		// Not counted: the first one-shot on a host describes it live and caches its description, as an operator's first one does.
		const warmUp = await cliRun(home, agent.name, 64);
		report.notes.push(`${rtt} one-shot CLI: one uncounted run first (${warmUp.failure ?? 'ok'}), which fills the description cache`);
		log(`${rtt}: one-shot CLI --on ${agent.name}${options.ssh ? ' and ssh true' : ''} through the proxy, ${options.runs} alternating runs each`);
		const trips: number[][][] = [[], [], []];
		const {ssh} = options;
		// Node 20 parses the file NODE_EXTRA_CA_CERTS names at every start (about 30 ms of CPU here), which ssh does not: measured both ways.
		const withoutExtraCa = process.env['NODE_EXTRA_CA_CERTS'] ? {...process.env, NODE_EXTRA_CA_CERTS: undefined} : undefined;
		const measured = await alternate(report, options.runs, [
			{label: `${rtt} one-shot CLI`, measure: async () => counting(proxy, trips[0]!, async () => withCpu(options.agentsCpu, async () => cliRun(home, agent.name, 64)))},
			...(ssh ? [{label: `${rtt} one-shot ssh true`, measure: async () => counting(proxy, trips[1]!, async () => withCpu(() => cpuMs([ssh.sshd.process]), async () => {
				const finished = await sshRun(ssh.tools, ssh.sshd, 'true', firstPort + 1);
				return finished.code === 0 ? finished : {...finished, failure: `exit ${finished.code}: ${firstLine(finished.stderr)}`};
			}))}] : []),
			...(withoutExtraCa ? [{label: `${rtt} one-shot CLI, NODE_EXTRA_CA_CERTS unset`, measure: async () => counting(proxy, trips[2]!, async () => withCpu(options.agentsCpu, async () => cliRun(home, agent.name, 64, undefined, {env: withoutExtraCa})))}] : []),
		]);
		const [cli] = measured;
		const sshTrue = ssh ? measured[1] : undefined;
		const bare = withoutExtraCa ? measured.at(-1) : undefined;
		report.rows.push(
			{measure: `${rtt} one-shot: CLI run ${script.name} --on ${agent.name}`, value: seconds(cli!.median), ...(cli!.cpu === undefined ? {} : {cpu: seconds(cli!.cpu)}), ...(sshTrue ? {ratio: `${ratio(cli!.median / sshTrue.median)} ssh`, verdict: verdict(cli!.median <= 0.6 * sshTrue.median, cli!, sshTrue)} : {verdict: 'skipped' as const}), target: '≤ 0.60× ssh'},
			...(sshTrue ? [{measure: `${rtt} one-shot: ssh host true`, value: seconds(sshTrue.median), ...(sshTrue.cpu === undefined ? {} : {cpu: seconds(sshTrue.cpu)})}] : []),
			...(bare ? [{measure: `${rtt} one-shot: CLI, NODE_EXTRA_CA_CERTS unset`, value: seconds(bare.median), ...(bare.cpu === undefined ? {} : {cpu: seconds(bare.cpu)}), ...(sshTrue ? {ratio: `${ratio(bare.median / sshTrue.median)} ssh`} : {})}] : []),
		);
		report.notes.push(`${rtt} one-shot CLI: ${tripsNote(trips[0]!)} (TCP, TLS 1.3 handshake, run)${sshTrue ? `; ssh true: ${tripsNote(trips[1]!)}` : ''}`);
		log(`${rtt}: where the one-shot's time goes (marks), ${options.runs} runs`);
		await measureMarks(report, {label: rtt, home, agent: agent.name, runs: options.runs, directory: options.directory});
	} finally {
		await proxies.stop();
	}
}

const markNames: ReadonlyArray<[MarkName, string]> = [
	['connect', 'first TCP connect'],
	['secure', 'TLS handshake done'],
	['request', 'request written'],
	['data', 'the agent\'s first bytes'],
	['exit', 'exit'],
];

let compiledMarks: string | undefined;

/** one-shot-marks.ts as CommonJS, for --require (a preload through the ES module loader would start that loader first). */
function marksPreload(directory: string): string {
	if (compiledMarks && existsSync(compiledMarks)) {
		return compiledMarks;
	}

	const source = readFileSync(join(benchDirectory, 'one-shot-marks.ts'), 'utf8');
	const {outputText} = ts.transpileModule(source, {compilerOptions: {module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true}});
	mkdirSync(directory, {recursive: true});
	compiledMarks = join(directory, 'one-shot-marks.cjs');
	writeFileSync(compiledMarks, outputText);
	return compiledMarks;
}

/**
 * `runs` one-shots of the built CLI with the marks preload; one row per moment: the median CPU used
 * by then and the median wall time since the process started, and between the first connect and
 * the request written, the part of the handshake's round trips the CLI's own work did not fill.
 */
export async function measureMarks(report: Report, options: {label: string; home: string; agent: string; runs: number; directory: string}): Promise<void> {
	const preload = marksPreload(options.directory);
	const file = join(options.directory, `marks-${options.label.replaceAll(/\W+/g, '-')}.jsonl`);
	rmSync(file, {force: true});
	for (let run = 0; run < options.runs; run++) {
		const finished = await runTimed(process.execPath, ['--require', preload, controllerCli, 'run', script.name, '--on', options.agent, '--home', options.home], {env: {...process.env, ONE_SHOT_MARKS: file}});
		if (finished.code !== 0) {
			report.notes.push(`${options.label} one-shot marks, run ${run + 1}: exit ${finished.code}: ${firstLine(finished.stderr)}`);
		}
	}

	const samples = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Marks) : [];
	const at = (name: MarkName, index: 0 | 1) => median(samples.flatMap(sample => (sample[name] ? [sample[name][index]] : [])));
	const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)} ms`);
	report.rows.push(...markNames.map(([name, text]) => ({
		measure: `  ${options.label} one-shot at ${text}: CPU used; wall since start`,
		value: ms(at(name, 0)),
		ratio: `wall ${ms(at(name, 1))}`,
	})));
	report.notes.push(`${options.label} one-shot marks (CPU ms, wall ms): ${samples.map(sample => markNames.map(([name]) => sample[name]?.map(value => value.toFixed(0)).join('/') ?? '-').join(' ')).join('; ')}`);
}
