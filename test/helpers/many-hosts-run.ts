/**
 * A run of many hosts through the real dispatcher, each host printing 64 KiB of its own (no two
 * alike, every 10th failing; more, in chunks, when asked), for the faces' bounded-memory tests. The last host waits until
 * every other has finished, and the test measures there (midway) and after the run: how many
 * results are still alive (each tracked with a WeakRef) and how many bytes the heap and the
 * buffers hold beyond what they held before the run, after garbage collection. Counted, never timed.
 */
import {setImmediate as nextTurn} from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import type {ClientContext} from '../../source/dispatch/agent-connection.js';
import {dispatch} from '../../source/dispatch/dispatcher.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';
import type {RunSummary} from '../../source/run/run-summary.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

export const outputBytes = 65_536;

/** A full collection on a fresh turn (WeakRefs are held through the current one), twice. */
async function collect(): Promise<void> {
	for (let round = 0; round < 2; round++) {
		await nextTurn();
		gc();
	}
}

/** The heap in use plus the buffers outside it, after a full collection. */
export async function heldBytes(): Promise<number> {
	await collect();
	const usage = process.memoryUsage();
	return usage.heapUsed + usage.arrayBuffers;
}

export type Measure = {aliveResults: number; heldBytes: number};
export type ManyHostsRun = {midway: Measure; after: Measure; hosts: number; summary: RunSummary};

/**
 * Runs `hosts` hosts with `emit` as the face; `atMidway` runs once all but the last have
 * finished, before the measure there (a slow client can read then, say).
 */
export async function runManyHosts(hosts: number, emit: (event: RunEvent) => void, options: {atMidway?: () => Promise<void>; requestId?: string; outputBytes?: number; chunkBytes?: number} = {}): Promise<ManyHostsRun> {
	const printed = options.outputBytes ?? outputBytes;
	const chunk = options.chunkBytes ?? printed;
	const refs: Array<WeakRef<AgentResult>> = [];
	const alive = () => refs.filter(ref => ref.deref() !== undefined).length;
	let finished = 0;
	let midway: (() => void) | undefined;
	const allButLast = new Promise<void>(resolve => {
		midway = resolve;
	});
	let release: (() => void) | undefined;
	const gate = new Promise<void>(resolve => {
		release = resolve;
	});
	const before = await heldBytes();
	const targets = Array.from({length: hosts}, (_, index) => ({name: `web${index + 1}`, address: '127.0.0.1:1'}));
	const running = dispatch(targets, {requestId: options.requestId ?? '00000000-0000-4000-8000-000000000001', script: 'big', args: [], caller: 'test', timeoutMs: 1000, dryRun: false}, {
		context: {} as ClientContext,
		parallel: 16,
		async runOnHost(target, _request, run) {
			run.emit({type: 'agent-connecting', agent: target.name});
			if (target.name === `web${hosts}`) {
				await gate;
			}

			await nextTurn();
			const index = Number(target.name.slice(3));
			const stdout = `${target.name} `.repeat(printed / 4).slice(0, printed);
			for (let at = 0; at < printed; at += chunk) {
				run.emit({type: 'agent-output', agent: target.name, stream: 'stdout', data: stdout.slice(at, at + chunk)});
			}

			const result: AgentResult = {agent: target.name, status: index % 10 === 0 ? 'failed' : 'ok', exitCode: index % 10 === 0 ? 1 : 0, signal: null, stdout, stderr: '', truncated: false, durationMs: index, ...(index % 10 === 0 ? {reason: 'exit 1'} : {})};
			refs.push(new WeakRef(result));
			if (++finished === hosts - 1) {
				setImmediate(() => midway?.());
			}

			return result;
		},
		emit(event) {
			if (event.type === 'agent-finished') {
				refs.push(new WeakRef(event.result));
			}

			emit(event);
		},
	});
	await allButLast;
	await options.atMidway?.();
	const midwayBytes = await heldBytes();
	const midwayMeasure = {aliveResults: alive(), heldBytes: midwayBytes - before};
	release?.();
	const summary = await running;
	const afterBytes = await heldBytes();
	return {hosts, midway: midwayMeasure, after: {aliveResults: alive(), heldBytes: afterBytes - before}, summary};
}
