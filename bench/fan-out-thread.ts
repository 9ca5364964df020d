/**
 * A worker thread running the real dispatcher on its share of a fan-out (measure-threads.ts):
 * its own TLS client context, its own event loop; told `{targets, credentials, parallel}`, it
 * answers with the run's timing. It stays up between runs, so its start-up is not measured.
 */
import {parentPort} from 'node:worker_threads';
import type {AgentTarget} from '../source/dispatch/agent-connection.js';
import type {TlsCredentials} from '../source/home.js';
import {dispatcherFanOut} from './ours.js';

export type ThreadRun = {targets: AgentTarget[]; credentials: TlsCredentials; parallel: number; dryRun: boolean};

parentPort!.on('message', (run: ThreadRun) => {
	void dispatcherFanOut(run.targets, run.credentials, run.parallel, {dryRun: run.dryRun}).then(timing => parentPort!.postMessage(timing));
});
parentPort!.postMessage('ready');
