/**
 * The idle cost of a lock held for a process's life (the agent daemon's audit log): CPU per
 * process per minute, from process.cpuUsage() inside each child, after a warm-up, with nothing
 * else to do. Three children per round, side by side (interleaved, the same load): `proper` holds
 * it with proper-lockfile (outwaitingLockOptions, as file-log.ts did: a stat and a utimes through
 * the thread pool every 5 s), `held` with io/brief-lock.ts holdLock (a stat, a utimes and a stat on
 * the thread, every 10 s, dated 5 s ahead), `wake` holds nothing but wakes every 5 s for an empty timer (what a wake-up
 * alone costs), `none` holds nothing (the floor: an idle node process).
 *
 *   npm run build && nice -n 10 node --import=tsx bench/idle-lock.ts
 *   BENCH_SECONDS=60 BENCH_ROUNDS=3 BENCH_WARMUP_SECONDS=20 BENCH_MODES=proper,held,wake,none
 */
import {execFileSync, spawn} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 60);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
// Past the first refreshes (their code compiled) and V8's memory reducer after start-up.
const warmupMs = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 20) * 1000;
const root = join(import.meta.dirname, '..');
const briefLock = pathToFileURL(join(root, 'dist/source/io/brief-lock.js')).href;
const properLockfile = pathToFileURL(join(root, 'node_modules/proper-lockfile/index.js')).href;

const child = (mode: string, file: string) => `
const mode = ${JSON.stringify(mode)};
const file = ${JSON.stringify(file)};
if (mode === 'proper') {
	const {default: lockfile} = await import(${JSON.stringify(properLockfile)});
	const {outwaitingLockOptions} = await import(${JSON.stringify(briefLock)});
	await lockfile.lock(file, outwaitingLockOptions);
} else if (mode === 'held') {
	const {holdLock} = await import(${JSON.stringify(briefLock)});
	await holdLock(file);
} else if (mode === 'wake') {
	setInterval(() => undefined, 5000).unref();
}
await new Promise(resolve => setTimeout(resolve, ${warmupMs}));
const before = process.cpuUsage();
const started = process.hrtime.bigint();
await new Promise(resolve => setTimeout(resolve, ${seconds * 1000}));
const used = process.cpuUsage(before);
const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(JSON.stringify({mode, cpuMs: (used.user + used.system) / 1000, wallMs}));
process.exit(0);
`;

async function measure(mode: string, directory: string): Promise<{mode: string; cpuMs: number; wallMs: number}> {
	const file = join(directory, `${mode}.log`);
	writeFileSync(file, '');
	const process_ = spawn(process.execPath, ['--input-type=module', '-e', child(mode, file)], {stdio: ['ignore', 'pipe', 'inherit']});
	let out = '';
	process_.stdout.on('data', (chunk: Buffer) => {
		out += chunk.toString();
	});
	await new Promise(resolve => process_.on('close', resolve));
	return JSON.parse(out) as {mode: string; cpuMs: number; wallMs: number};
}

const modes = (process.env['BENCH_MODES'] ?? 'proper,held,wake,none').split(',');
const totals = new Map<string, number[]>(modes.map(mode => [mode, []]));
for (let round = 0; round < rounds; round++) {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-idle-lock-'));
	const load = execFileSync('uptime', {encoding: 'utf8'}).trim();
	// Side by side: the same load for each; idle children hardly compete for a core.
	const order = round % 2 === 0 ? modes : [...modes].reverse();
	const results = await Promise.all(order.map(async mode => measure(mode, directory)));
	rmSync(directory, {recursive: true, force: true});
	for (const result of results) {
		const perMinute = result.cpuMs * 60_000 / result.wallMs;
		totals.get(result.mode)!.push(perMinute);
		console.log(`round ${round + 1} ${result.mode.padEnd(6)} ${perMinute.toFixed(3)} ms CPU per minute idle (${result.cpuMs.toFixed(3)} ms in ${(result.wallMs / 1000).toFixed(1)} s)`);
	}

	console.log(`  load at the start of the round: ${load}`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const mode of modes) {
	console.log(`median ${mode.padEnd(6)} ${median(totals.get(mode)!).toFixed(3)} ms CPU per minute idle (${rounds} rounds of ${seconds} s); load now: ${execFileSync('uptime', {encoding: 'utf8'}).trim()}`);
}
