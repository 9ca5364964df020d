/**
 * The CPU a one-shot spends importing the program (dist/source/chunks/controller.js and what it
 * imports statically) after the early dial: a small CommonJS driver requires the builtins the bin
 * (cli.cjs) has required by then, then imports the program's entry, and prints the CPU (user +
 * system) that import took. With BENCH_COMPARE_DIST naming another build's dist/ directory inside
 * this checkout (so that its packages resolve the same; e.g. `cp -r dist .bench/dist-before` before a
 * rebuild), both are measured in alternating runs.
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {pathToFileURL} from 'node:url';
import {repoRoot} from './hosts.js';
import {median, runTimed} from './processes.js';
import type {Report} from './report.js';

const driver = `'use strict';
for (const id of ['node:fs', 'node:module', 'node:net', 'node:os', 'node:path', 'node:tls', 'node:util']) require(id);
const cpu = () => { const {user, system} = process.cpuUsage(); return (user + system) / 1000; };
const before = cpu();
import(process.argv[2]).then(() => process.stdout.write(String(cpu() - before)));
`;

export async function measureImport(report: Report, options: {runs: number}, log: (text: string) => void): Promise<void> {
	const builds = [
		{label: 'dist', directory: join(repoRoot, 'dist')},
		...(process.env['BENCH_COMPARE_DIST'] ? [{label: process.env['BENCH_COMPARE_DIST'], directory: resolve(repoRoot, process.env['BENCH_COMPARE_DIST'])}] : []),
	];
	const file = join(mkdtempSync(join(tmpdir(), 'xi-exec-import-')), 'driver.cjs');
	writeFileSync(file, driver);
	const runs = Math.max(options.runs, 7);
	log(`program import CPU: ${builds.map(build => build.label).join(' against ')}, ${runs} alternating runs`);
	const cpu = builds.map(() => [] as number[]);
	for (let run = 0; run < runs; run++) {
		for (const [index, build] of builds.entries()) {
			const finished = await runTimed(process.execPath, [file, pathToFileURL(join(build.directory, 'source/chunks/controller.js')).href]);
			if (finished.code !== 0) {
				throw new Error(`${build.label}: importing the program exited with ${finished.code}: ${finished.stderr}`);
			}

			cpu[index]!.push(Number(finished.stdout));
		}
	}

	const ms = (values: number[]) => `${median(values).toFixed(1)} ms (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)})`;
	report.rows.push(...builds.map((build, index) => ({measure: `program import CPU after the early dial: ${build.label}`, value: ms(cpu[index]!)})));
}
