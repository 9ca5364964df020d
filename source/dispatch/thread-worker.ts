/**
 * A dispatch thread (thread-pool.ts starts it): runs the hosts the main thread hands it, each
 * through runOnAgent exactly as the main thread would (same exchange, same identity check at the
 * handshake, same cancel frame), with a TLS context of its own made from the credentials it was
 * started with. It decides nothing about the run: it reports each host's events and result, and
 * aborts a host when told. Before the run it may describe targets, as discover.ts does on the
 * main thread, keeping the connections their agents leave open for the run in a hold of its own,
 * which its runs take from. Reports go out once per turn of its loop, as one message.
 */
import {parentPort, workerData} from 'node:worker_threads';
import {discoverAgent} from './discover.js';
import {createConnectionHold} from './held-connections.js';
import {clientContextWith, type AgentTarget} from './link-exchange.js';
import {runOnAgent} from './run-agent.js';
import {lostDescribeNextStep, lostRunNextStep, type ThreadOrder, type ThreadReport, type ThreadRun, type ThreadStart} from './thread-messages.js';

const port = parentPort!;
// Relay hosts stay on the main thread (thread-pool.ts), so a thread never loads the relay's code (link-exchange.ts).
const context = clientContextWith((workerData as ThreadStart).credentials, async () => {
	throw new Error('a dispatch thread reaches agents over direct TLS only (relay agents run on the main thread)');
});
const running = new Map<number, AbortController>();
// The main thread asks to hold no more than the run's first wave (thread-pool.ts).
const hold = createConnectionHold(Number.POSITIVE_INFINITY);
let run: (ThreadRun & {refused: ReadonlySet<string>}) | undefined;
// What the describes refuse, as the main thread last sent it (thread-messages.ts).
let describeRefused: ReadonlySet<string> = new Set();
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
		hold,
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
		report({id, result: {agent: target.name, status: 'error', exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0, reason: `the controller's dispatch thread failed: ${(error as Error).message}: ${lostRunNextStep}`}});
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

			case 'describe': {
				const {id, target} = order;
				describeRefused = order.revoked ? new Set(order.revoked) : describeRefused;
				discoverAgent(target, context, order.timeoutMs, describeRefused, order.hold ? hold : undefined).then(found => {
					report({id, found, held: hold.has(target.name)});
				}, (error: unknown) => {
					report({id, found: {name: target.name, address: target.address, status: 'unreachable', reason: `the controller's dispatch thread failed: ${(error as Error).message}: ${lostDescribeNextStep}`, scripts: []}, held: false});
				});
				break;
			}
		}
	}
});
