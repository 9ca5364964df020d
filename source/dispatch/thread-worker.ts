/**
 * A dispatch thread (thread-pool.ts starts it): runs the hosts the main thread hands it, each
 * through runOnAgent exactly as the main thread would (same exchange, same identity check at the
 * handshake, same cancel frame), with a TLS context of its own made from the credentials it was
 * started with. It decides nothing about the run: it reports each host's events and result, and
 * aborts a host when told. Reports go out once per turn of its loop, as one message.
 */
import {parentPort, workerData} from 'node:worker_threads';
import {createClientContext} from './agent-connection.js';
import {runOnAgent} from './run-agent.js';
import type {ThreadOrder, ThreadReport, ThreadRun, ThreadStart} from './thread-messages.js';
import type {AgentTarget} from './agent-connection.js';

const port = parentPort!;
const context = createClientContext((workerData as ThreadStart).credentials);
const running = new Map<number, AbortController>();
let run: (ThreadRun & {refused: ReadonlySet<string>}) | undefined;
let outbox: ThreadReport[] = [];

function report(message: ThreadReport): void {
	outbox.push(message);
	if (outbox.length === 1) {
		// Everything this turn of the loop reports (many sockets' frames) goes as one message.
		setImmediate(() => {
			const sent = outbox;
			outbox = [];
			port.postMessage(sent);
		});
	}
}

function start(id: number, target: AgentTarget): void {
	const share = run!;
	const controller = new AbortController();
	running.set(id, controller);
	let fresh = false;
	runOnAgent(target, share.request, {
		context,
		revoked: share.refused,
		connectTimeoutMs: share.connectTimeoutMs,
		answerGraceMs: share.answerGraceMs,
		cancel: controller.signal,
		emit(event) {
			// The main thread said the host was connecting when it handed it out.
			if (event.type !== 'agent-connecting') {
				report({id, event});
			}
		},
		// Asked only when the agent refused this controller's serial: the main thread holds the fresh credentials.
		freshContext() {
			fresh = true;
			return undefined;
		},
	}).then(result => {
		report({id, result, ...(fresh ? {fresh: true as const} : {})});
	}, (error: unknown) => {
		report({id, result: {agent: target.name, status: 'error', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: `the controller's dispatch thread failed: ${(error as Error).message}`}});
	}).finally(() => running.delete(id));
}

port.on('message', (orders: ThreadOrder[]) => {
	for (const order of orders) {
		switch (order.type) {
			case 'run': {
				run = {...order, refused: new Set(order.revoked)};
				break;
			}

			case 'host': {
				start(order.id, order.target);
				break;
			}

			case 'cancel': {
				running.get(order.id)?.abort(order.reason);
				break;
			}
		}
	}
});
