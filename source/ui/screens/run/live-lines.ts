/**
 * A host's output as it arrives, line by line with the stream each line came on, so the live
 * panes mark stderr (the run state keeps one merged text). A chunk may end mid-line: the next
 * chunk of the same stream continues that line. The last `liveLineLimit` lines are kept, each
 * line's last `paneLineChars` characters (pane-output.ts). Pure.
 */
import {visible} from '../../../output/visible.js';
import {paneLineChars, textTail} from './pane-output.js';

export type LiveLine = {stream: 'stdout' | 'stderr'; text: string; open: boolean};

export const liveLineLimit = 200;

export function appendOutput(lines: readonly LiveLine[], stream: LiveLine['stream'], data: string): LiveLine[] {
	const next = [...lines];
	const parts = data.split('\n');
	for (const [index, part] of parts.entries()) {
		const terminated = index < parts.length - 1;
		const last = next.at(-1);
		if (index === 0 && last?.open && last.stream === stream) {
			next[next.length - 1] = {stream, text: textTail(last.text + part, paneLineChars), open: !terminated};
		} else if (part !== '' || terminated) {
			next.push({stream, text: textTail(part, paneLineChars), open: !terminated});
		}
	}

	return next.slice(-liveLineLimit);
}

/** The last `count` lines, control characters spelled out, stderr marked. */
export function liveTail(lines: readonly LiveLine[], count: number): Array<{stream: LiveLine['stream']; text: string}> {
	return count <= 0 ? [] : lines.slice(-count).map(line => ({stream: line.stream, text: visible(line.text)}));
}
