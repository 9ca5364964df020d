/**
 * `run --json`: exactly one JSON document, written as the run goes, one result at a time, so a
 * thousand hosts' output never has to sit in one string. Output keeps its bytes, JSON-escaped.
 *
 *   {"requestId", "script", "args", "startedAt", "results": [{"agent", "status", "exitCode",
 *    "signal", "stdout", "stderr", "truncated", "durationMs", "reason"}], "endedAt", "durationMs",
 *    "groups"?: [...] with --group}
 *
 * `startedAt` and `endedAt` (ISO 8601) bound the whole run, from its request going out to the last
 * host's end; the run's `durationMs` is their difference, beside each host's own.
 */
import type {AgentResult, RunEvent} from '../run/events.js';
import {groupResults} from '../run/group-output.js';
import {resultDocument} from '../run/result-document.js';
import {createOutputSharing} from '../run/shared-outputs.js';
import {safeJson} from './visible.js';

export type JsonRunOptions = {
	group?: boolean;
	/** How each result is written (default: resultDocument); the REST API's waited answer leaves out the output of one a slow client has not kept up with. */
	document?: (result: AgentResult) => Record<string, unknown>;
};

export function createJsonRunWriter(write: (text: string) => void, options: JsonRunOptions = {}) {
	const document = options.document ?? resultDocument;
	let first = true;
	// --group only: every result, identical outputs held once.
	const kept: AgentResult[] = [];
	const outputs = createOutputSharing();
	return {
		onEvent(event: RunEvent): void {
			switch (event.type) {
				case 'run-started': {
					const started = event.startedAt === undefined ? '' : `"startedAt":${safeJson(event.startedAt)},`;
					write(`{"requestId":${safeJson(event.requestId)},"script":${safeJson(event.script)},"args":${safeJson(event.args)},${started}"results":[`);
					break;
				}

				case 'agent-finished': {
					write((first ? '\n' : ',\n') + safeJson(document(event.result)));
					first = false;
					if (options.group) {
						kept.push(outputs.share(event.result));
					}

					break;
				}

				case 'run-finished': {
					const ended = event.endedAt === undefined ? '' : `,"endedAt":${safeJson(event.endedAt)},"durationMs":${safeJson(event.durationMs ?? null)}`;
					write(`\n]${ended}${options.group ? `,"groups":${safeJson(groupResults(kept))}` : ''}}\n`);
					break;
				}

				default:
			}
		},
	};
}
