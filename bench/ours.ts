/** Our side of each comparison: the real dispatcher in this process, and the real built CLI. */
import {randomUUID} from 'node:crypto';
import {setMaxListeners} from 'node:events';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import type {TlsCredentials} from '../source/home.js';
import type {AgentTarget, ClientContext} from '../source/dispatch/agent-connection.js';
import {createClientContext} from '../source/dispatch/agent-connection.js';
import {dispatch} from '../source/dispatch/dispatcher.js';
import type {DispatchThreads} from '../source/dispatch/thread-pool.js';
import type {FanOutTiming} from './floor.js';
import {benchHandshakeTimeoutMs, script} from './fleet.js';
import {repoRoot} from './hosts.js';
import {firstLine, runTimed, type Finished} from './processes.js';

/** The installed `xi-exec` (package.json's bin): the CommonJS entry, which opens a one-shot's TCP connection before node's ES module loader starts. */
export const controllerCli = join(repoRoot, 'dist/source/cli.cjs');
/** The same program as tsc builds it, module by module (scripts/bundle.js keeps it beside the bundle): what the bundle saves. */
export const controllerModulesCli = join(repoRoot, 'dist/source/cli.modules.js');

/**
 * The run's time limit in process. The dispatcher gives up on an agent this long (plus a 10 s
 * grace) after the handshake; the floor's client waits as long as it takes, so the bench lets the
 * dispatcher wait too (uptime itself still has its allowlist entry's 30 s once it is spawned).
 */
const benchRunTimeoutMs = 300_000;

// Every exchange listens on the run's abort signal, and past 10 listeners node prints a leak
// warning on each run. The CLI prints it too (the bench notes it from there); here it is noise.
setMaxListeners(0);

/**
 * One `run uptime` on every target through `dispatch()`, as `xi-exec run` calls it (one client
 * context per run), except for the time limits: the agents' handshake limit (see fleet.ts)
 * rather than the CLI's 5 s to connect, and benchRunTimeoutMs rather than its 30 s to answer.
 * Targets of transport `nats` go through the relay: the run opens its broker connection and
 * closes it at the end, as a CLI run does. `dryRun`: every check on the agent, no script spawned.
 * `context`: a client context held across runs, as `serve` and the API hold one (left open).
 * `threads`: the product's dispatch threads (dispatch/thread-pool.ts) run the hosts, as a run with
 * `dispatchThreads` set does.
 */
export async function dispatcherFanOut(targets: readonly AgentTarget[], credentials: TlsCredentials, parallel: number, options: {dryRun?: boolean; context?: ClientContext; threads?: DispatchThreads} = {}): Promise<FanOutTiming> {
	const started = performance.now();
	const doneMs: number[] = [];
	const context = options.context ?? createClientContext(credentials);
	const summary = await dispatch(targets, {
		requestId: randomUUID(),
		script: script.name,
		args: [],
		caller: 'bench@localhost',
		timeoutMs: benchRunTimeoutMs,
		dryRun: options.dryRun === true,
	}, {
		context,
		parallel,
		connectTimeoutMs: benchHandshakeTimeoutMs,
		...(options.threads ? {runOnHost: options.threads.runOnHost} : {}),
		emit(event) {
			if (event.type === 'agent-finished') {
				doneMs.push(performance.now() - started);
			}
		},
	});
	if (!options.context) {
		await context.close();
	}

	const ms = performance.now() - started;
	const failures = summary.notOk.map(result => `${result.agent}: ${result.status} ${result.reason ?? ''}`);
	return {ms, ok: summary.counts.ok ?? 0, failures, doneMs};
}

/** `node dist/source/cli.cjs run uptime --on SELECTOR --parallel P --home HOME`, timed from spawn to exit. */
export async function cliRun(home: string, selector: string, parallel: number, entry = controllerCli, options: {peakRss?: boolean; timeoutMs?: number; dryRun?: boolean; env?: NodeJS.ProcessEnv} = {}): Promise<Finished & {failure?: string; warning?: string}> {
	const finished = await runTimed(process.execPath, [entry, 'run', script.name, '--on', selector, '--parallel', String(parallel), '--home', home, ...(options.dryRun ? ['--dry-run'] : [])], options);
	if (finished.code !== 0) {
		// The plain output ends with the summary line (`98 ok · 2 unreachable`); errors go to stderr.
		const summary = finished.stdout.trim().split('\n').at(-1) ?? '';
		// Node's own warnings (`(node:123) ...Warning`, `(Use \`node --trace-warnings\``) are not the error.
		const errors = finished.stderr.split('\n').filter(line => line.trim() !== '' && !/^\((node:\d+|Use `node)/.test(line));
		return {...finished, failure: `exit ${finished.code}: ${firstLine(errors.join('\n') || summary)}`};
	}

	return finished.stderr.trim() === '' ? finished : {...finished, warning: `exit 0 but stderr: ${firstLine(finished.stderr)}`};
}
