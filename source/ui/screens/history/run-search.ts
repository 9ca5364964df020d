/**
 * Which past runs a history search finds: those that ran on the agent asked for (h on an agent's
 * details), and whose script, arguments, hosts, reasons or output hold the text typed (any case).
 * A run found by its output says where: the first host and line that hold the text. Pure.
 */
import type {StoredRun} from '../../../history/run-record.js';
import {visible} from '../../../output/visible.js';

export type HistoryFilter = {text: string; agent?: string};

/** undefined: the run is not found; `where`: the first host's line holding the text, when it is in the output. */
export function findInRun(run: StoredRun, filter: HistoryFilter): {where?: string} | undefined {
	if (filter.agent !== undefined && !run.results.some(result => result.agent === filter.agent) && !run.header.targets.includes(filter.agent)) {
		return undefined;
	}

	const text = filter.text.toLowerCase();
	if (text === '') {
		return {};
	}

	const {header} = run;
	if ([header.script, ...header.args, ...header.selector].some(value => value.toLowerCase().includes(text))) {
		return {};
	}

	for (const result of run.results) {
		if (result.agent.toLowerCase().includes(text)) {
			return {};
		}

		for (const [stream, output] of [['', result.stdout], ['stderr│ ', result.stderr], ['', result.reason ?? '']] as const) {
			const line = output.split('\n').find(candidate => candidate.toLowerCase().includes(text));
			if (line !== undefined) {
				return {where: `${visible(result.agent)}: ${stream}${visible(line.trim())}`};
			}
		}
	}

	return undefined;
}

/** The runs found, each with where the text is. */
export function searchRuns(runs: readonly StoredRun[], filter: HistoryFilter): Array<{run: StoredRun; where?: string}> {
	return runs.flatMap(run => {
		const found = findInRun(run, filter);
		return found ? [{run, ...found}] : [];
	});
}
