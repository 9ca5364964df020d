/**
 * The dispatch threads of one run (dispatch/thread-pool.ts), as the controller setting
 * `dispatchThreads` and the machine decide (dispatch/thread-count.ts); undefined when the run
 * uses the main thread alone. Every face runs through here (run-execute.ts), so none knows which.
 * The threads are made with the controller's credentials from the home; when those are no longer
 * the ones the run's context was made with (a rotation completed since), the run keeps to the
 * main thread, whose context the agents are told about (ExecutePorts.controllerSerial).
 */
import {X509Certificate} from 'node:crypto';
import {availableParallelism} from 'node:os';
import {readControllerSettings} from '../audit/controller-log.js';
import type {DispatchThreads} from '../dispatch/thread-pool.js';
import {dispatchThreadCount} from '../dispatch/thread-count.js';
import {loadControllerCredentials, type ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';

export async function openRunThreads(paths: ControllerPaths, controllerSerial: string, hosts: number): Promise<DispatchThreads | undefined> {
	const count = dispatchThreadCount(readControllerSettings(paths).dispatchThreads, {cores: availableParallelism(), hosts});
	if (count <= 1) {
		return undefined;
	}

	// Loaded only by a run that uses threads.
	const {openDispatchThreads, threadsAvailable} = await import('../dispatch/thread-pool.js');
	const credentials = loadControllerCredentials(paths);
	if (!threadsAvailable() || normaliseSerial(new X509Certificate(credentials.cert).serialNumber) !== controllerSerial) {
		return undefined;
	}

	return openDispatchThreads(count, credentials);
}
