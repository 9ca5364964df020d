/**
 * What starting one dispatch thread costs: the process's CPU (all threads, process.cpuUsage) and
 * wall time from `new Worker` until the thread's first report, and the process's RSS with the
 * thread alive, for each thread program given, interleaved in one process (each start a new
 * thread, as a run starts them). The first report is the answer to a describe of a closed port
 * (refused at once), so each start includes loading the program, its TLS context and one failed
 * connection. Programs: BENCH_THREADS=label=path,… where a `.js` path is started as a file (the
 * npm build's dist/source/chunks/thread-worker.js) and any other as code (`eval: true`, as the
 * release's single-file bundle and single executable start it). BENCH_REPS (default 15). The
 * threads do not inherit this process's flags (--import=tsx would load tsx in each), as the CLI's
 * threads have none.
 *
 *   BENCH_THREADS=before=../main/dist/source/chunks/thread-worker.js,after=dist/source/chunks/thread-worker.js \
 *     nice -n 10 node --import=tsx bench/thread-start.ts
 */
import {execFileSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir, loadavg} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {performance} from 'node:perf_hooks';
import {pathToFileURL} from 'node:url';
import {Worker} from 'node:worker_threads';
import {median} from './processes.js';

type Program = {label: string; path: string; bytes: number; start: (workerData: unknown) => Worker};

function programs(): Program[] {
	const setting = process.env['BENCH_THREADS'];
	if (!setting) {
		throw new Error('BENCH_THREADS=label=path,… names the thread programs to start');
	}

	return setting.split(',').map(each => {
		const [label, path] = each.split('=') as [string, string];
		const code = readFileSync(path, 'utf8');
		const url = pathToFileURL(resolve(path));
		return {label, path, bytes: /\.m?js$/.test(path) ? staticClosureBytes(resolve(path)) : Buffer.byteLength(code), start: workerData => /\.m?js$/.test(path) ? new Worker(url, {workerData, execArgv: []}) : new Worker(code, {eval: true, workerData, execArgv: []})};
	});
}

/** The bytes of an ES module file and of every file it imports statically by a relative path (what a thread started from it loads before its first line). */
function staticClosureBytes(file: string, seen = new Set<string>()): number {
	if (seen.has(file)) {
		return 0;
	}

	seen.add(file);
	const code = readFileSync(file, 'utf8');
	let bytes = Buffer.byteLength(code);
	for (const [, relative] of code.matchAll(/^import [^;]*? from "(\.[^"]+)";$/gm)) {
		bytes += staticClosureBytes(resolve(dirname(file), relative!), seen);
	}

	return bytes;
}

/** A throwaway self-signed key and certificate (the thread makes a TLS context of them; nothing verifies them here). */
function credentials(): {key: string; cert: string; ca: string} {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-thread-start-'));
	try {
		execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=bench', '-days', '1', '-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem')], {stdio: 'ignore'});
		const cert = readFileSync(join(directory, 'cert.pem'), 'utf8');
		return {key: readFileSync(join(directory, 'key.pem'), 'utf8'), cert, ca: cert};
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
}

/** A port that refuses: bound, then closed. */
async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
	const {port} = server.address() as {port: number};
	await new Promise(done => server.close(done));
	return port;
}

function rssKiB(): number {
	return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

type Sample = {cpuMs: number; wallMs: number; rssKiB: number};

async function startOnce(program: Program, workerData: unknown, port: number): Promise<Sample> {
	const rssBefore = rssKiB();
	const cpu = process.cpuUsage();
	const started = performance.now();
	const worker = program.start(workerData);
	const answered = new Promise<void>((done, failed) => {
		worker.once('message', () => done());
		worker.once('error', failed);
	});
	worker.postMessage([{type: 'describe', id: 1, target: {name: 'closed', address: `127.0.0.1:${port}`}, timeoutMs: 5000, revoked: [], hold: false}]);
	await answered;
	const wallMs = performance.now() - started;
	const used = process.cpuUsage(cpu);
	const sample = {cpuMs: (used.user + used.system) / 1000, wallMs, rssKiB: rssKiB() - rssBefore};
	await worker.terminate();
	return sample;
}

const repetitions = Number(process.env['BENCH_REPS'] ?? 15);
const list = programs();
const workerData = {credentials: credentials()};
const port = await closedPort();
const samples = new Map<string, Sample[]>(list.map(program => [program.label, []]));
// One start of each first, not counted (the main thread's own code paths warm up).
for (const program of list) {
	await startOnce(program, workerData, port);
}

const load = [loadavg()[0]!.toFixed(1)];
for (let round = 0; round < repetitions; round++) {
	const order = round % 2 === 0 ? list : [...list].reverse();
	for (const program of order) {
		samples.get(program.label)!.push(await startOnce(program, workerData, port));
	}
}

load.push(loadavg()[0]!.toFixed(1));
console.log(`thread start, ${repetitions} interleaved starts each, medians (spread); load ${load.join(' → ')}; node ${process.version}`);
for (const program of list) {
	const each = samples.get(program.label)!;
	const spread = (pick: (sample: Sample) => number) => `${median(each.map(pick)).toFixed(1)} (${Math.min(...each.map(pick)).toFixed(1)}–${Math.max(...each.map(pick)).toFixed(1)})`;
	console.log(`${program.label.padEnd(12)} ${String(program.bytes).padStart(8)} bytes  CPU ${spread(sample => sample.cpuMs)} ms  wall ${spread(sample => sample.wallMs)} ms  RSS +${spread(sample => sample.rssKiB / 1024)} MiB  ${program.path}`);
}
