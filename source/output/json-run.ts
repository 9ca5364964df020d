/**
 * `run --json`: exactly one JSON document, written as the run goes, one result at a time, so a
 * thousand hosts' output never has to sit in one string. Output keeps its bytes, JSON-escaped.
 *
 *   {"requestId", "script", "args", "results": [{"agent", "status", "exitCode", "signal",
 *    "stdout", "stderr", "truncated", "durationMs", "reason"}], "groups"?: [...] with --group}
 */
import type {AgentResult, RunEvent} from '../run/events.js';
import {groupResults} from '../run/group-output.js';
import {resultDocument} from '../run/result-document.js';
import {safeJson} from './visible.js';

export function createJsonRunWriter(write: (text: string) => void, options: {group?: boolean} = {}) {
	let first = true;
	const kept: AgentResult[] = [];
	return {
		onEvent(event: RunEvent): void {
			switch (event.type) {
				case 'run-started': {
					write(`{"requestId":${safeJson(event.requestId)},"script":${safeJson(event.script)},"args":${safeJson(event.args)},"results":[`);
					break;
				}

				case 'agent-finished': {
					write((first ? '\n' : ',\n') + safeJson(resultDocument(event.result)));
					first = false;
					if (options.group) {
						kept.push(event.result);
					}

					break;
				}

				case 'run-finished': {
					write(options.group ? `\n],"groups":${safeJson(groupResults(kept))}}\n` : '\n]}\n');
					break;
				}

				default:
			}
		},
	};
}
