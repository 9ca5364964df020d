/**
 * A run's events for Server-Sent Events: live runs are followed through a small hub (what has
 * happened so far, then each new event), finished runs are replayed from their history file.
 * The event formatting and the replay are pure.
 */
import type {AgentResult, RunEvent} from '../dispatch/events.js';
import type {HistoryLine} from '../history/run-record.js';

/** One event as an SSE message: `event` is its type, `data` its JSON (one line: JSON escapes newlines). */
export function formatSse(event: RunEvent, id: number): string {
	return `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The events of a stored run, rebuilt from its history lines; no `run-finished` when it never ended. */
export function replayHistory(lines: readonly string[]): RunEvent[] {
	const events: RunEvent[] = [];
	const output = new Map<string, {stdout: string; stderr: string}>();
	for (const text of lines) {
		let line: HistoryLine;
		try {
			line = JSON.parse(text) as HistoryLine;
		} catch {
			continue; // A torn last line.
		}

		switch (line.type) {
			case 'run': {
				events.push({type: 'run-started', requestId: line.requestId, script: line.script, args: line.args, targets: line.targets});
				break;
			}

			case 'output': {
				const streams = output.get(line.agent) ?? {stdout: '', stderr: ''};
				streams[line.stream] += line.data;
				output.set(line.agent, streams);
				events.push({type: 'agent-output', agent: line.agent, stream: line.stream, data: line.data});
				break;
			}

			case 'result': {
				const result: AgentResult = {...line.result, ...(output.get(line.result.agent) ?? {stdout: '', stderr: ''})};
				events.push({type: 'agent-finished', result});
				break;
			}

			case 'end': {
				const started = events[0];
				events.push({type: 'run-finished', requestId: started?.type === 'run-started' ? started.requestId : ''});
				break;
			}
		}
	}

	return events;
}

export type LiveRun = {requestId: string; script: string; targets: string[]};

export type LiveRuns = {
	/** Registers a run before it starts; the returned function takes each of its events. */
	begin: (run: LiveRun) => (event: RunEvent) => void;
	/** Forgets a run once its history is complete. */
	end: (requestId: string) => void;
	get: (requestId: string) => LiveRun | undefined;
	/** The events so far, then each new one to `listener`, until `stop`. */
	follow: (requestId: string, listener: (event: RunEvent) => void) => {past: RunEvent[]; stop: () => void} | undefined;
	size: () => number;
};

export function createLiveRuns(): LiveRuns {
	const runs = new Map<string, {run: LiveRun; events: RunEvent[]; listeners: Set<(event: RunEvent) => void>}>();
	return {
		begin(run) {
			const entry = {run, events: [] as RunEvent[], listeners: new Set<(event: RunEvent) => void>()};
			runs.set(run.requestId, entry);
			return event => {
				entry.events.push(event);
				for (const listener of entry.listeners) {
					listener(event);
				}
			};
		},
		end(requestId) {
			runs.delete(requestId);
		},
		get: requestId => runs.get(requestId)?.run,
		follow(requestId, listener) {
			const entry = runs.get(requestId);
			if (!entry) {
				return undefined;
			}

			entry.listeners.add(listener);
			return {past: [...entry.events], stop: () => entry.listeners.delete(listener)};
		},
		size: () => runs.size,
	};
}
