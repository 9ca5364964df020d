/** A run on its connection: executeRun with the server's context, the connection ended when it is done. */
import {encodeFrame} from '../source/protocol/encode.js';
import type {RunFrame} from '../source/protocol/frames.js';
import {batchedSender, endConnection} from './connection-end.js';
import {executeRun, type RunContext} from './execute-run.js';
import type {Connection, ServerContext} from './server-context.js';
import {stopReasons} from './stop-reasons.js';

export function startRun(context: ServerContext, connection: Connection, frame: RunFrame): void {
	const {options, config} = context;
	const controller = new AbortController();
	connection.run = {id: frame.id, controller};
	context.activeRuns.set(frame.id, controller);
	if (context.stopping) {
		// Refused as cancelled (recorded), never started: the stop neither cancels nor waits for a run it has not seen.
		controller.abort(stopReasons.agentStopping);
	}

	const runContext: RunContext = {
		agentName: config.name,
		allowlist: options.allowlist(),
		ownersFor: options.ownersFor,
		runAsIds: options.runAsIds,
		limits: config.limits,
		workingDirectory: config.workingDirectory,
		slots: context.slots,
		log: options.log,
		recorder: context.recorder,
		...(options.hook ? {hook: options.hook} : {}),
		...(options.homeProblem ? {homeProblem: options.homeProblem} : {}),
		agentTags: config.tags,
		now: options.now,
		peer: connection.peer,
		...(options.cgroups ? {cgroups: options.cgroups} : {}),
		...(options.writerProbe ? {writerProbe: options.writerProbe} : {}),
	};
	const {socket} = connection;
	const send = batchedSender(socket);
	const done = executeRun(frame, runContext, send, controller.signal)
		.catch((error: unknown) => {
			context.log('run.error', {requestId: frame.id, reason: (error as Error).message});
			send(encodeFrame({type: 'error', id: frame.id, code: 'internal', message: 'internal error while running the script'}));
		})
		.finally(() => {
			context.activeRuns.delete(frame.id);
			context.runsDone.delete(done);
			endConnection(socket);
		});
	context.runsDone.add(done);
}
