/**
 * Every host's result, gathered from a run's events in target order, for a face that answers
 * with all of them at the end (the console's run handle, MCP's tool result, a dry run's answers,
 * a runbook step's hosts). What is kept of each is the face's choice (`keep`): a face that keeps
 * whole results holds every host's output until it lets go of them. The CLI and the history
 * stream results instead, and the run itself keeps only a bounded summary (run-summary.ts). Pure.
 */
import type {AgentResult, RunEvent} from './events.js';

export type ResultCollector<Kept> = {emit: (event: RunEvent) => void; results: () => Kept[]};

export function collectResults(forward?: (event: RunEvent) => void): ResultCollector<AgentResult>;
export function collectResults<Kept>(forward: ((event: RunEvent) => void) | undefined, keep: (result: AgentResult) => Kept): ResultCollector<Kept>;
export function collectResults<Kept>(forward?: (event: RunEvent) => void, keep?: (result: AgentResult) => Kept): ResultCollector<Kept | AgentResult> {
	const kept = keep ?? ((result: AgentResult) => result);
	let order = new Map<string, number>();
	const byIndex: Array<Kept | AgentResult | undefined> = [];
	const unplaced: Array<Kept | AgentResult> = [];
	return {
		emit(event) {
			if (event.type === 'run-started') {
				order = new Map(event.targets.map((agent, index) => [agent, index]));
			} else if (event.type === 'agent-finished') {
				const index = order.get(event.result.agent);
				if (index === undefined || byIndex[index] !== undefined) {
					unplaced.push(kept(event.result));
				} else {
					byIndex[index] = kept(event.result);
				}
			}

			forward?.(event);
		},
		results: () => [...byIndex.filter(result => result !== undefined), ...unplaced],
	};
}
