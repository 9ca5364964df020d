/**
 * What this process allocates while a piece of work runs: V8's sampling heap profiler, keeping the
 * samples of objects the young and old collections freed since (what a fan-out allocates is almost
 * all garbage by the time it ends), so its sizes estimate every byte allocated, not what is live.
 * Used by profile-fan-out.ts (BENCH_HEAP=1) to put allocated KB per host beside the CPU.
 */
import {Session} from 'node:inspector/promises';
import {basename} from 'node:path';
import {constants, PerformanceObserver, type PerformanceEntry} from 'node:perf_hooks';

/** One allocating function: its name, file:line and the bytes sampled there. */
export type AllocationSite = {site: string; bytes: number};
/** `young`, `full`: the collections meanwhile (scavenges; mark-sweep-compacts), `pauseMs` their pauses on this thread. */
export type Allocations = {bytes: number; sites: AllocationSite[]; young: number; full: number; pauseMs: number};

type ProfileNode = {callFrame: {functionName: string; url: string; lineNumber: number; columnNumber: number}; selfSize: number; children: ProfileNode[]};

/** Starts sampling every `intervalBytes` on average; the returned function stops and answers the totals. */
export async function startAllocationSampling(intervalBytes = 4096): Promise<() => Promise<Allocations>> {
	const session = new Session();
	session.connect();
	await session.post('HeapProfiler.enable');
	await session.post('HeapProfiler.startSampling', {samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true} as never);
	const collections = {young: 0, full: 0, pauseMs: 0};
	const count = (entries: readonly PerformanceEntry[]) => {
		for (const entry of entries) {
			const {kind} = (entry as PerformanceEntry & {detail: {kind: number}}).detail;
			collections.young += kind === constants.NODE_PERFORMANCE_GC_MINOR ? 1 : 0;
			collections.full += kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 1 : 0;
			collections.pauseMs += entry.duration;
		}
	};

	const observer = new PerformanceObserver(list => {
		count(list.getEntries());
	});
	observer.observe({entryTypes: ['gc']});
	return async () => {
		count(observer.takeRecords());
		observer.disconnect();
		const {profile} = await session.post('HeapProfiler.stopSampling') as unknown as {profile: {head: ProfileNode}};
		await session.post('HeapProfiler.disable');
		session.disconnect();
		const bySite = new Map<string, number>();
		let bytes = 0;
		const walk = (node: ProfileNode) => {
			if (node.selfSize > 0) {
				const {functionName, url, lineNumber, columnNumber} = node.callFrame;
				// The column too: tsx's output puts a whole module's functions on few lines.
				const site = `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}:${columnNumber + 1}` : '(native)'}`;
				bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
				bytes += node.selfSize;
			}

			for (const child of node.children) {
				walk(child);
			}
		};

		walk(profile.head);
		const sites = [...bySite].map(([site, size]) => ({site, bytes: size})).sort((a, b) => b.bytes - a.bytes);
		return {bytes, sites, ...collections};
	};
}
