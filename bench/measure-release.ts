/**
 * The single executables of `npm run dist` against the built programs on this machine's node, in
 * the same run: a one-shot command's wall time (`xi-exec ca fingerprint`, alternating starts), and
 * an idle agent's RSS (`xi-exec-agent start` until listening, then a settle period). A third row
 * runs the release's JS bundle on the embedded Node version without a code cache, which isolates
 * what the code cache buys from what the Node version changes. Skipped with a note when
 * dist/release is not there (`npm run dist`).
 */
import {spawn} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {stopChild, trackChild} from './cleanup.js';
import {loadIssuer, mintAgent} from './fleet.js';
import {repoRoot, rssKiB} from './hosts.js';
import {controllerCli} from './ours.js';
import {median, runTimed, sleep} from './processes.js';
import type {Report} from './report.js';
import {mebibytes, ratio, seconds} from './table.js';

const release = join(repoRoot, 'dist', 'release');
const embeddedNode = join(repoRoot, 'packaging', 'runtimes', 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
const settleMs = 2500;

type Launch = {label: string; command: string; args: string[]};

export async function measureRelease(report: Report, options: {controllerHome: string; root: string; port: number; runs: number}, log: (text: string) => void): Promise<void> {
	const executable = (name: string) => join(release, `${name}-linux-${process.arch}`);
	if (!existsSync(executable('xi-exec')) || !existsSync(executable('xi-exec-agent'))) {
		report.notes.push('single executables: not measured, dist/release has none for this CPU (npm run dist)');
		return;
	}

	const oneShots: Launch[] = [
		{label: 'single executable', command: executable('xi-exec'), args: []},
		// The installed bin (package.json), not tsc's ES module entry, which nothing starts any more.
		{label: `node ${process.versions.node} dist/source/cli.cjs`, command: process.execPath, args: [controllerCli]},
		...(existsSync(embeddedNode) ? [{label: 'embedded Node, bundle, no code cache', command: embeddedNode, args: [join(release, 'xi-exec.cjs')]}] : []),
	];
	const runs = Math.max(options.runs, 5);
	log(`single executable: one-shot start, ${runs} alternating runs each`);
	const times = oneShots.map(() => [] as number[]);
	for (let run = 0; run < runs; run++) {
		for (const [index, launch] of oneShots.entries()) {
			const finished = await runTimed(launch.command, [...launch.args, 'ca', 'fingerprint'], {env: {...process.env, XI_EXEC_HOME: options.controllerHome}});
			if (finished.code !== 0) {
				throw new Error(`${launch.label}: xi-exec ca fingerprint exited with ${finished.code}: ${finished.stderr}`);
			}

			times[index]!.push(finished.ms);
		}
	}

	const executableTime = median(times[0]!);
	report.rows.push(
		{measure: 'one-shot: single executable (ca fingerprint)', value: seconds(executableTime), ratio: `${ratio(executableTime / median(times[1]!))} node dist (the bin)`, target: 'faster than node dist', verdict: executableTime <= median(times[1]!) ? 'met' : 'MISSED'},
		...oneShots.slice(1).map((launch, index) => ({measure: `one-shot: ${launch.label}`, value: seconds(median(times[index + 1]!))})),
	);

	const agent = await mintAgent(await loadIssuer(options.controllerHome), join(options.root, 'release-rss'), 'bench-release', options.port);
	log(`single executable: idle agent RSS, ${Math.min(options.runs, 3)} starts each`);
	const executableRss: number[] = [];
	const nodeRss: number[] = [];
	const bundleRss: number[] = [];
	for (let run = 0; run < Math.min(options.runs, 3); run++) {
		executableRss.push(await idleRss(executable('xi-exec-agent'), ['start'], agent.home));
		nodeRss.push(await idleRss(process.execPath, [join(repoRoot, 'dist/agent/cli.js'), 'start'], agent.home));
		if (existsSync(embeddedNode)) {
			bundleRss.push(await idleRss(embeddedNode, [join(release, 'xi-exec-agent.cjs'), 'start'], agent.home));
		}
	}

	report.notes.push(`idle RSS single executable: ${executableRss.map(kib => mebibytes(kib)).join(', ')}; node dist: ${nodeRss.map(kib => mebibytes(kib)).join(', ')} (the executable embeds Node ${embeddedVersion()}, node dist runs on ${process.versions.node})`);
	report.rows.push(
		{measure: 'idle RSS: single executable agent', value: mebibytes(median(executableRss)), ratio: `${ratio(median(executableRss) / median(nodeRss))} node dist`},
		{measure: `idle RSS: node ${process.versions.node} dist/agent/cli.js`, value: mebibytes(median(nodeRss))},
		...(bundleRss.length > 0 ? [{measure: `idle RSS: embedded Node ${embeddedVersion()}, bundle`, value: mebibytes(median(bundleRss))}] : []),
	);
}

function embeddedVersion(): string {
	try {
		return (JSON.parse(readFileSync(join(embeddedNode, '..', '..', 'package.json'), 'utf8')) as {version: string}).version;
	} catch {
		return 'from packaging/runtimes';
	}
}

/** Starts the agent, waits for its `listening` line, settles, reads RSS, stops it. */
async function idleRss(command: string, args: string[], home: string): Promise<number> {
	const child = trackChild(spawn(command, args, {env: {...process.env, XI_EXEC_AGENT_HOME: home}, stdio: ['ignore', 'pipe', 'pipe']}));
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	try {
		await new Promise<void>((resolve, reject) => {
			createInterface({input: child.stdout!}).on('line', line => {
				if (line.includes('"event":"listening"')) {
					resolve();
				}
			});
			child.once('exit', code => reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`)));
		});
		await sleep(settleMs);
		return rssKiB([child])[0]!;
	} finally {
		await stopChild(child);
	}
}
