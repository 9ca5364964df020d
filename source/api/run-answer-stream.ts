/**
 * The answer to POST /v1/runs with `wait: true`: the document `xi-exec run --json` prints
 * (output/json-run.ts), sent as the run goes. Each host's result is written to the response when
 * the host finishes, so once a result has gone out the server holds nothing of it, at any number
 * of hosts.
 *
 * A client that reads slower than the run would make the server hold what it has not read yet:
 * once more than `heldLimitBytes` wait unread, a host that finishes is written without its output
 * (stdout and stderr empty) and with `outputOmitted` (the bytes left out, and where the full result
 * is: GET /v1/runs/{id}?agent=NAME; the history keeps every byte). The run never waits for the
 * client, and memory stays at about the limit plus one result.
 *
 * Every event is checked against the published RunEvent schema before it is written: the status
 * went out with the first byte, so one that breaks it cuts the answer (the body then does not
 * parse) and is logged.
 */
import {Readable} from 'node:stream';
import {createJsonRunWriter} from '../output/json-run.js';
import type {AgentResult, RunEvent} from '../run/events.js';
import {resultDocument} from '../run/result-document.js';

/** Unread bytes the server holds for one waited answer before it leaves output out. */
export const defaultHeldLimitBytes = 4 * 1024 * 1024;

export type RunAnswerStream = {
	/** The response body: fastify pipes it to the client. */
	body: Readable;
	onEvent: (event: RunEvent) => void;
	/** The run ended (its document was closed at run-finished): ends the body. */
	end: () => void;
	/** The run failed after the answer began: cuts the body. */
	fail: (error: Error) => void;
	/** How many results went out without their output so far. */
	omitted: () => number;
};

export type RunAnswerStreamOptions = {
	heldLimitBytes?: number;
	/** The problem with an event, by the published schema; undefined when it is sound. */
	check?: (event: RunEvent) => string | undefined;
};

export function createRunAnswerStream(options: RunAnswerStreamOptions = {}): RunAnswerStream {
	const limit = options.heldLimitBytes ?? defaultHeldLimitBytes;
	// Pushed as the run goes; the client's pace is not the run's (read asks for nothing).
	const body = new Readable({read() {}});
	let requestId = '';
	let omitted = 0;
	const push = (text: string) => {
		if (!body.destroyed) {
			body.push(text);
		}
	};

	const document = (result: AgentResult) => {
		if (body.readableLength <= limit) {
			return resultDocument(result);
		}

		omitted++;
		return withoutOutput(result, requestId);
	};

	const writer = createJsonRunWriter(push, {document});
	return {
		body,
		onEvent(event) {
			if (body.destroyed) {
				return;
			}

			const problem = options.check?.(event);
			if (problem) {
				body.destroy(new Error(`an event breaks the published RunEvent schema: ${problem}`));
				return;
			}

			if (event.type === 'run-started') {
				requestId = event.requestId;
			}

			writer.onEvent(event);
		},
		end() {
			if (!body.destroyed) {
				body.push(null);
			}
		},
		fail(error) {
			body.destroy(error);
		},
		omitted: () => omitted,
	};
}

/** A result written without its output, saying how much was left out and where all of it is. */
export function withoutOutput(result: AgentResult, requestId: string) {
	return {
		...resultDocument(result),
		stdout: '',
		stderr: '',
		outputOmitted: {
			stdoutBytes: Buffer.byteLength(result.stdout),
			stderrBytes: Buffer.byteLength(result.stderr),
			reason: 'the client read this answer more slowly than the run went: the server does not hold output for it',
			result: `/v1/runs/${requestId}?agent=${encodeURIComponent(result.agent)}`,
		},
	};
}
