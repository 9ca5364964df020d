/**
 * A host's output as lines for the output view: once the host has finished, its stdout and then
 * its stderr (each line of stderr marked, so it never passes for stdout); while it runs, what
 * has arrived so far, then the result's notes (`~ note`, as the CLI prints them). Control
 * characters are spelled out (visible.ts). Pure.
 */
import type {AgentRunState} from '../../../run/run-state.js';
import {visibleLines} from '../../../output/visible.js';
import {noteLines} from '../run/result-notes.js';

export type OutputLine = {text: string; stream: 'stdout' | 'stderr' | 'note'};

function split(text: string): string[] {
	const lines = visibleLines(text.replace(/\n$/, ''));
	return lines.length === 1 && lines[0] === '' ? [] : lines;
}

export function outputLines(agent: AgentRunState): OutputLine[] {
	const {result} = agent;
	if (!result) {
		return split(agent.output).map(text => ({text, stream: 'stdout'}));
	}

	const lines: OutputLine[] = [
		...split(result.stdout).map((text): OutputLine => ({text, stream: 'stdout'})),
		...split(result.stderr).map((text): OutputLine => ({text, stream: 'stderr'})),
	];
	if (result.truncated) {
		lines.push({text: '(output truncated by the agent\'s limit)', stream: 'note'});
	}

	const notes = noteLines(result).map((text): OutputLine => ({text, stream: 'note'}));
	return [...(lines.length === 0 ? [{text: '(no output)', stream: 'note'} as const] : lines), ...notes];
}
