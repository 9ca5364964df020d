/**
 * Against OpenSSH, when sshd and parallel-ssh are installed: the same 100-host uptime through
 * parallel-ssh (judged against our CLI, which like parallel-ssh includes its own start-up), and a
 * one-shot CLI call against `ssh host true`. Without them, the one-shot CLI is still measured and
 * the table says why the comparisons were skipped.
 */
import {cpuMs} from './hosts.js';
import {alternate, repeat, verdict, withCpu, type Measured, type Report} from './report.js';
import {script} from './fleet.js';
import {parallelSsh, sshRun, startLoopbackSshd, type LoopbackSshd, type SshTools} from './loopback-sshd.js';
import {cliRun, controllerCli, controllerModulesCli} from './ours.js';
import {ratio, seconds} from './table.js';
import type {Ours100} from './measure-fan-out.js';

export type SshSettings = {
	repetitions: number;
	parallel: number;
	directory: string;
	port: number;
	oneShotHome: string;
	oneShotAgent: string;
	/** CPU used so far by the agents' host processes, in ms. */
	agentsCpu: () => number;
};

const cpuCell = (measured: Measured) => (measured.cpu === undefined ? {} : {cpu: seconds(measured.cpu)});

/** Returns the one-shot CLI's median. */
export async function measureAgainstSsh(report: Report, tools: SshTools | string, ours: Ours100, settings: SshSettings, log: (text: string) => void): Promise<number> {
	const oneShot = (entry: string) => () => withCpu(settings.agentsCpu, () => cliRun(settings.oneShotHome, settings.oneShotAgent, settings.parallel, entry));
	const oneShotRows = (cliOnce: Measured, modules: Measured) => [
		{measure: `one-shot: CLI run --on ${settings.oneShotAgent}`, value: seconds(cliOnce.median), ...cpuCell(cliOnce)},
		{measure: '  the same from tsc\'s entry, module by module (not bundled)', value: seconds(modules.median), ...cpuCell(modules), ratio: `bundle ${ratio(cliOnce.median / modules.median)}`},
	];
	const skipped = async (why: string) => {
		log(`one-shot CLI (--on ${settings.oneShotAgent}), ${settings.repetitions} alternating runs with tsc's entry`);
		const [cliOnce, modules] = await alternate(report, settings.repetitions, [{label: 'one-shot CLI', measure: oneShot(controllerCli)}, {label: 'one-shot CLI, module by module', measure: oneShot(controllerModulesCli)}]);
		const [row, modulesRow] = oneShotRows(cliOnce!, modules!);
		report.rows.push({measure: 'fan-out N=100: parallel-ssh', value: '—', target: '≥ 20× CLI', verdict: 'skipped'}, {...row!, target: '≤ ssh host true', verdict: 'skipped'}, modulesRow!);
		report.notes.push(`parallel-ssh and ssh comparisons skipped: ${why}`);
		return cliOnce!.median;
	};

	if (typeof tools === 'string') {
		return skipped(tools);
	}

	let sshd: LoopbackSshd | undefined;
	try {
		sshd = await startLoopbackSshd(tools, settings.directory, settings.port);
		const probe = await sshRun(tools, sshd, 'true');
		if (probe.code !== 0) {
			throw new Error(`ssh to the loopback sshd failed (exit ${probe.code}): ${probe.stderr.trim()}`);
		}
	} catch (error) {
		await sshd?.stop();
		return skipped((error as Error).message);
	}

	try {
		const runs = Math.min(settings.repetitions, 3);
		log(`parallel-ssh on 100 host entries (127.0.0.1:${settings.port}), ${runs} runs`);
		const sshdCpu = () => cpuMs([sshd.process]);
		const pssh = await repeat(report, 'N=100 parallel-ssh', runs, () => withCpu(sshdCpu, async () => {
			const finished = await parallelSsh(tools, sshd, settings.directory, 100, script.path);
			const failed = finished.stdout.split('\n').find(line => line.includes('[FAILURE]')) ?? finished.stderr.trim();
			return finished.ok === 100 ? finished : {...finished, failure: `${finished.ok} of 100 [SUCCESS] (exit ${finished.code}) ${failed}`};
		}));
		const against = ours.cli ?? ours.dispatcher;
		report.rows.push({
			measure: 'fan-out N=100: parallel-ssh -p 100',
			value: seconds(pssh.median),
			...cpuCell(pssh),
			...(against === undefined ? {} : {ratio: `${ratio(pssh.median / against.median)} ${ours.cli ? 'CLI' : 'dispatcher'}`, target: '≥ 20× CLI', verdict: verdict(pssh.median / against.median >= 20, pssh, against)}),
		});
		if (ours.cli && ours.dispatcher) {
			report.notes.push(`parallel-ssh / dispatcher in process (no CLI start-up) at N=100: ${ratio(pssh.median / ours.dispatcher.median)}`);
		}

		if (pssh.cpu !== undefined && ours.cli?.cpu !== undefined) {
			report.notes.push(`CPU at N=100, parallel-ssh (client, ssh processes, sshd and sessions) / CLI (CLI process, agents and scripts): ${ratio(pssh.cpu / ours.cli.cpu)}`);
		}

		log(`one-shot CLI (--on ${settings.oneShotAgent}), tsc's entry and ssh 127.0.0.1 true, ${settings.repetitions} alternating runs each`);
		const [cliOnce, modules, sshTrue] = await alternate(report, settings.repetitions, [
			{label: 'one-shot CLI', measure: oneShot(controllerCli)},
			{label: 'one-shot CLI, module by module', measure: oneShot(controllerModulesCli)},
			{label: 'ssh true', measure: () => withCpu(sshdCpu, async () => {
				const finished = await sshRun(tools, sshd, 'true');
				return finished.code === 0 ? finished : {...finished, failure: `exit ${finished.code}: ${finished.stderr.trim()}`};
			})},
		]);
		const [row, modulesRow] = oneShotRows(cliOnce!, modules!);
		report.rows.push(
			{...row!, ratio: `${ratio(cliOnce!.median / sshTrue!.median)} ssh`, target: '≤ 1.00× ssh', verdict: verdict(cliOnce!.median <= sshTrue!.median, cliOnce!, sshTrue!)},
			modulesRow!,
			{measure: `one-shot: ssh -p ${settings.port} 127.0.0.1 true`, value: seconds(sshTrue!.median), ...cpuCell(sshTrue!)},
		);
		return cliOnce!.median;
	} finally {
		await sshd.stop();
	}
}
