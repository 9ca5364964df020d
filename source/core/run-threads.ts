/**
 * The dispatch threads of one run (dispatch/thread-pool.ts), as the controller setting
 * `dispatchThreads` and the machine decide (dispatch/thread-count.ts); undefined when the run
 * uses the main thread alone. Every face runs through here (run-plan.ts, run-execute.ts), so none
 * knows which. They start with the run's describe (before the request is recorded: its
 * handshakes are spread too, and the connections it keeps for the run stay in the threads, so
 * the run goes on with the same threads) or, when nothing was described live, with the run.
 * The threads are made with the controller's credentials from the home; when those are no longer
 * the ones the run's context was made with (a rotation completed since), the run keeps to the
 * main thread, whose context the agents are told about (ExecutePorts.controllerSerial).
 */
import {X509Certificate} from 'node:crypto';
import {availableParallelism} from 'node:os';
import {readControllerSettings} from '../audit/controller-log.js';
import type {RunConnections} from '../dispatch/held-connections.js';
import type {DispatchThreads} from '../dispatch/thread-pool.js';
import {dispatchThreadCount} from '../dispatch/thread-count.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';

/** Threads made with the home's credentials, and the serial of their certificate; undefined for the main thread alone. */
async function openThreads(paths: ControllerPaths, hosts: number): Promise<{threads: DispatchThreads; serial: string} | undefined> {
	const count = dispatchThreadCount(readControllerSettings(paths).dispatchThreads, {cores: availableParallelism(), hosts});
	if (count <= 1) {
		return undefined;
	}

	// Loaded only by a run that uses threads.
	const {openDispatchThreads, threadsAvailable} = await import('../dispatch/thread-pool.js');
	if (!threadsAvailable()) {
		return undefined;
	}

	const credentials = loadControllerCredentials(paths);
	return {threads: openDispatchThreads(count, credentials), serial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)};
}

/** For the plan's describe of `hosts` targets: the threads, kept in `connections` for the run that follows. */
export async function openDescribeThreads(paths: ControllerPaths, connections: RunConnections, hosts: number): Promise<DispatchThreads | undefined> {
	const opened = await openThreads(paths, hosts);
	if (opened) {
		connections.keepThreads(opened.threads, opened.serial);
	}

	return opened?.threads;
}

/** For the run: the describe's threads when it had any, else new ones; none when they were made with other credentials than `controllerSerial`'s. */
export async function openRunThreads(paths: ControllerPaths, controllerSerial: string, hosts: number, connections?: RunConnections): Promise<DispatchThreads | undefined> {
	const opened = connections?.threads() ?? await openThreads(paths, hosts);
	if (opened && opened.serial !== controllerSerial) {
		await opened.threads.close();
		return undefined;
	}

	return opened?.threads;
}
