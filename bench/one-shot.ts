/**
 * The one-shot rows alone, for working on them without the whole bench (fan-out.ts runs them too):
 * one agent, a loopback sshd, `xi-exec run uptime --on ONE` against `ssh 127.0.0.1 true` in
 * alternating runs, the one-shot's anatomy (measure-one-shot.ts) and where the real CLI's time goes
 * (marks: measure-one-shot-latency.ts); the same through the delaying proxy, `BENCH_DELAY_MS` each
 * way (25, so 50 ms RTT; 0: none), with the round trips it counted; the CLI's start-up
 * (measure-start.ts) and, unless BENCH_RSS=0, an idle agent's RSS against a bare node:tls server
 * (measure-rss.ts). The load average is printed at the start and end.
 *
 * The program's import CPU after the early dial (measure-import.ts), against another build with
 * BENCH_COMPARE_DIST; BENCH_ONLY=import measures that alone.
 *
 *   npm run build && node --import=tsx bench/one-shot.ts      BENCH_REPS=9 (default) BENCH_RSS=0 BENCH_DELAY_MS=25 BENCH_ONLY=import
 */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runBench, trackPath} from './cleanup.js';
import {buildNotes, freePortBlock, loadAverage, machine} from './environment.js';
import {agentName, createFleet, script} from './fleet.js';
import {cpuMs, startHosts} from './hosts.js';
import {findSshTools, sshRun, startLoopbackSshd} from './loopback-sshd.js';
import {measureOneShotSteps} from './measure-one-shot.js';
import {measureMarks, measureOneShotLatency} from './measure-one-shot-latency.js';
import {measureImport} from './measure-import.js';
import {measureIdleRss} from './measure-rss.js';
import {measureStart} from './measure-start.js';
import {cliRun, controllerCli} from './ours.js';
import {alternate, createReport, verdict, withCpu, type Attempt} from './report.js';
import {formatTable, ratio, seconds} from './table.js';

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);

async function main(): Promise<number> {
	const notes = buildNotes(log);
	if (!notes) {
		return 2;
	}

	const report = createReport();
	report.notes.push(...notes);

	const repetitions = Number(process.env['BENCH_REPS'] ?? 9);
	const delayMs = Number(process.env['BENCH_DELAY_MS'] ?? 25);
	const loadAtStart = loadAverage();
	if (process.env['BENCH_ONLY'] === 'import') {
		await measureImport(report, {runs: repetitions}, log);
		return printReport(report, repetitions, loadAtStart);
	}

	const port = await freePortBlock(8);
	const root = trackPath(mkdtempSync(join(tmpdir(), 'xi-exec-one-shot-')));
	const fleet = await createFleet(root, 1, port);
	const agents = await startHosts('agent-host.ts', [[fleet.agents[0]!.home]], root);
	const agent = agentName(0);
	const agentsCpu = () => cpuMs(agents.processes);
	const oneShot = async (): Promise<Attempt> => withCpu(agentsCpu, async () => cliRun(fleet.controllerHome, agent, 64, controllerCli));

	const withoutExtraCa = process.env['NODE_EXTRA_CA_CERTS'] ? {...process.env, NODE_EXTRA_CA_CERTS: undefined} : undefined;
	const tools = findSshTools();
	const sshd = typeof tools === 'string' ? undefined : await startLoopbackSshd(tools, join(root, 'sshd'), port + 2);
	log(`one-shot CLI${sshd ? ' and ssh 127.0.0.1 true' : ''}, ${repetitions} alternating runs each`);
	const measured = await alternate(report, repetitions, [
		{label: 'one-shot CLI', measure: oneShot},
		...(sshd && typeof tools !== 'string' ? [{label: 'ssh true', measure: async () => withCpu(() => cpuMs([sshd.process]), async () => {
			const finished = await sshRun(tools, sshd, 'true');
			return finished.code === 0 ? finished : {...finished, failure: `exit ${finished.code}: ${finished.stderr.trim()}`};
		})}] : []),
		// Node 20 parses the file NODE_EXTRA_CA_CERTS names at every start (xi-exec trusts only the fleet CA; ssh reads no such file).
		...(withoutExtraCa ? [{label: 'one-shot CLI, NODE_EXTRA_CA_CERTS unset', measure: async () => withCpu(agentsCpu, async () => cliRun(fleet.controllerHome, agent, 64, controllerCli, {env: withoutExtraCa}))}] : []),
	]);
	const [cli] = measured;
	const ssh = sshd && typeof tools !== 'string' ? measured[1] : undefined;
	const bare = withoutExtraCa ? measured.at(-1) : undefined;
	report.rows.push(
		{measure: `one-shot: CLI run ${script.name} --on ${agent}`, value: seconds(cli!.median), ...(cli!.cpu === undefined ? {} : {cpu: seconds(cli!.cpu)}), ...(ssh ? {ratio: `${ratio(cli!.median / ssh.median)} ssh`, target: '≤ 1.00× ssh', verdict: verdict(cli!.median <= ssh.median, cli!, ssh)} : {})},
		...(ssh ? [{measure: 'one-shot: ssh 127.0.0.1 true', value: seconds(ssh.median), ...(ssh.cpu === undefined ? {} : {cpu: seconds(ssh.cpu)})}] : []),
		...(bare ? [{measure: 'one-shot: CLI, NODE_EXTRA_CA_CERTS unset', value: seconds(bare.median), ...(bare.cpu === undefined ? {} : {cpu: seconds(bare.cpu)}), ...(ssh ? {ratio: `${ratio(bare.median / ssh.median)} ssh`} : {})}] : []),
	);
	if (typeof tools === 'string') {
		report.notes.push(`ssh comparison skipped: ${tools}`);
	}

	log(`one-shot steps, ${repetitions} runs`);
	await measureOneShotSteps(report, {label: 'loopback', home: fleet.controllerHome, agent, runs: repetitions, directory: root, cliMedianMs: cli!.median});
	log(`loopback: where the one-shot's time goes (marks), ${repetitions} runs`);
	await measureMarks(report, {label: 'loopback', home: fleet.controllerHome, agent, runs: repetitions, directory: root});
	if (delayMs > 0) {
		await measureOneShotLatency(report, {fleet, agentsCpu, ...(sshd && typeof tools !== 'string' ? {ssh: {tools, sshd}} : {}), delayMs, runs: repetitions, directory: root, firstPort: port + 6}, log);
	}

	await sshd?.stop();
	await agents.stop();
	await measureStart(report, {home: fleet.controllerHome, runs: repetitions}, log);
	await measureImport(report, {runs: repetitions}, log);
	if (process.env['BENCH_RSS'] !== '0') {
		await measureIdleRss(report, {controllerHome: fleet.controllerHome, root, port: port + 4, runs: Math.min(repetitions, 5)}, log);
	}

	return printReport(report, repetitions, loadAtStart);
}

function printReport(report: ReturnType<typeof createReport>, repetitions: number, loadAtStart: string): number {
	process.stdout.write([
		'',
		`Xi-Exec one-shot bench — ${machine()}; median of ${repetitions} runs`,
		`load average at start ${loadAtStart}, at end ${loadAverage()}`,
		'',
		formatTable(report.rows),
		'Runs and notes:',
		...report.notes.map(note => `  ${note}`),
		'',
	].join('\n'));
	return 0;
}

await runBench(main, log);
