/**
 * What starting the CLI costs before any work: `xi-exec --version` and a read-only command
 * (`runs --json`, which reads the history and takes no lock) against `node -e 0`, alternating
 * starts, wall time and CPU (user + system of the process) each; both also from tsc's entry,
 * module by module, against the bundle the executable is (scripts/bundle.js).
 */
import {controllerCli, controllerModulesCli} from './ours.js';
import {median, runTimed} from './processes.js';
import {reapedChildrenCpuMs} from './hosts.js';
import type {Report} from './report.js';
import {seconds} from './table.js';

type Launch = {label: string; args: string[]; env?: NodeJS.ProcessEnv};

/**
 * Node 20 parses its whole root store and the file NODE_EXTRA_CA_CERTS names when it starts, before
 * any JavaScript runs (Node 22 does it when a context first needs them); xi-exec never trusts either
 * (the fleet CA alone), but pays it where the variable is set, as on the machine this bench was
 * written on. Measured apart, so that the start-up rows can be read both ways.
 */
function withoutExtraCaCerts(): Launch[] {
	if (!process.env['NODE_EXTRA_CA_CERTS']) {
		return [];
	}

	const env = {...process.env};
	delete env['NODE_EXTRA_CA_CERTS'];
	return [{label: 'node -e 0, NODE_EXTRA_CA_CERTS unset', args: ['-e', '0'], env}];
}

export async function measureStart(report: Report, options: {home: string; runs: number}, log: (text: string) => void): Promise<void> {
	const launches: Launch[] = [
		{label: 'node -e 0', args: ['-e', '0']},
		{label: 'xi-exec --version', args: [controllerCli, '--version']},
		{label: 'xi-exec runs --json (read-only)', args: [controllerCli, 'runs', '--json', '--home', options.home]},
		{label: 'xi-exec --version, module by module (tsc, not bundled)', args: [controllerModulesCli, '--version']},
		{label: 'xi-exec runs --json, module by module', args: [controllerModulesCli, 'runs', '--json', '--home', options.home]},
		...withoutExtraCaCerts(),
	];
	const runs = Math.max(options.runs, 7);
	log(`CLI start-up, ${runs} alternating starts each`);
	const wall = launches.map(() => [] as number[]);
	const cpu = launches.map(() => [] as number[]);
	for (let run = 0; run < runs; run++) {
		for (const [index, launch] of launches.entries()) {
			const before = reapedChildrenCpuMs();
			const finished = await runTimed(process.execPath, launch.args, launch.env ? {env: launch.env} : {});
			if (finished.code !== 0) {
				report.notes.push(`start-up: ${launch.label} exited with ${finished.code}: ${finished.stderr.trim().split('\n')[0] ?? ''}`);
			}

			wall[index]!.push(finished.ms);
			cpu[index]!.push(reapedChildrenCpuMs() - before);
		}
	}

	const bare = median(cpu[0]!);
	report.rows.push(...launches.map((launch, index) => ({
		measure: `start-up: ${launch.label}`,
		value: seconds(median(wall[index]!)),
		cpu: seconds(median(cpu[index]!)),
		...(index === 0 ? {} : {ratio: `CPU ${median(cpu[index]!) < bare ? '−' : '+'}${seconds(Math.abs(median(cpu[index]!) - bare))} over node`}),
	})));
	report.notes.push(`start-up CPU (ms): ${launches.map((launch, index) => `${launch.label} ${cpu[index]!.join(', ')}`).join('; ')}`);
}
