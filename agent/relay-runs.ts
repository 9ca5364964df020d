/**
 * The runs an agent has going over the relay, by request id. A run is acknowledged (there is no
 * connection whose opening tells the controller this agent is there: `ack`, held back until the
 * run has said nothing for a while, relay-sealer.ts), then goes through the
 * same path as over direct TLS (`execute`: boundary, hook, slot, script), each line it writes
 * becoming one reply; its terminal reply (result or error) goes to `end`, which keeps it for a
 * `status` question before publishing it. A second run under an id already running is refused;
 * `cancel` aborts one with the caller's name; `stop` aborts all and waits for them to end.
 */
import type {RunFrame} from '../source/protocol/frames.js';
import type {ReplyBody} from '../source/protocol/relay-envelope.js';
import type {AgentLog} from './execute-run.js';
import type {RunEndRecords} from './relay-end-records.js';

/**
 * Runs one accepted run frame for the controller whose certificate has `controllerSerial`, writing
 * its frames as lines to `send`; its records go through `records` when given (relay-end-records.ts).
 */
export type RunExecutor = (frame: RunFrame, controllerSerial: string, send: (line: string) => void, signal: AbortSignal, records?: RunEndRecords) => Promise<void>;

/**
 * `ack` acknowledges the run (relay-sealer.ts holds it back: a run that answers soon needs none);
 * `end` takes its terminal reply; `records` marks the records that may end it with its result's place.
 */
export type RunReplies = {ack: () => void; reply: (body: ReplyBody) => void; end: (body: ReplyBody) => void; records?: RunEndRecords};

export class RelayRuns {
	readonly #active = new Map<string, AbortController>();
	readonly #done = new Set<Promise<void>>();

	constructor(private readonly execute: RunExecutor, private readonly log: AgentLog) {}

	running(id: string): boolean {
		return this.#active.has(id);
	}

	/** Aborts run `id` with `reason`; false when no such run is going. */
	cancel(id: string, reason: string): boolean {
		const run = this.#active.get(id);
		run?.abort(reason);
		return run !== undefined;
	}

	start(frame: RunFrame, controllerSerial: string, {ack, reply, end, records}: RunReplies): void {
		if (this.#active.has(frame.id)) {
			reply({type: 'error', id: frame.id, code: 'malformed', message: `a run with request id ${frame.id} is already in progress`});
			return;
		}

		ack();
		const controller = new AbortController();
		this.#active.set(frame.id, controller);
		const send = (line: string) => {
			const {v: _version, ...body} = JSON.parse(line) as ReplyBody & {v: number};
			(body.type === 'result' || body.type === 'error' ? end : reply)(body);
		};

		const done = this.execute(frame, controllerSerial, send, controller.signal, records)
			.catch((error: unknown) => {
				this.log('run.error', {requestId: frame.id, reason: (error as Error).message});
				end({type: 'error', id: frame.id, code: 'internal', message: 'internal error while running the script'});
			})
			.finally(() => {
				this.#active.delete(frame.id);
				this.#done.delete(done);
			});
		this.#done.add(done);
	}

	/** Aborts every run with `reason` and waits for all of them to end. */
	async stop(reason: string): Promise<void> {
		for (const controller of this.#active.values()) {
			controller.abort(reason);
		}

		await Promise.allSettled([...this.#done]);
	}
}
