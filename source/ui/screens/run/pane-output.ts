/**
 * What the console holds of a host's output, bounded per pane: of a finished host's result, the
 * last `paneStreamChars` characters of each stream (from a line's start when one begins in
 * them), with a note saying how much was dropped and where all of it is; of a line still
 * arriving, its last `paneLineChars`. The history keeps every byte. Kept text is copied out of
 * the string it was cut from, so the dropped part is not held through it. Pure.
 */
import type {AgentResult} from '../../../run/events.js';

export const paneStreamChars = 64 * 1024;
export const paneLineChars = 16 * 1024;

/** The last `limit` characters of `text`, from a line's start when one begins in them, as a string of its own. */
export function textTail(text: string, limit: number): string {
	if (text.length <= limit) {
		return text;
	}

	let tail = text.slice(-limit);
	const newline = tail.indexOf('\n');
	tail = newline >= 0 && newline < tail.length - 1 ? tail.slice(newline + 1) : tail;
	// Not half of a surrogate pair, and not a view into the whole text.
	const first = tail.codePointAt(0) ?? 0;
	return JSON.parse(JSON.stringify(first >= 0xdc00 && first <= 0xdfff ? tail.slice(1) : tail)) as string;
}

function size(chars: number): string {
	return chars >= 1024 * 1024 ? `${(chars / (1024 * 1024)).toFixed(1)} MiB` : (chars >= 1024 ? `${Math.round(chars / 1024)} KiB` : `${chars} characters`);
}

/** A result as a pane holds it: each stream's tail, and a note when output was dropped. */
export function paneResult(result: AgentResult, requestId: string | undefined): AgentResult {
	const stdout = textTail(result.stdout, paneStreamChars);
	const stderr = textTail(result.stderr, paneStreamChars);
	const dropped = (result.stdout.length - stdout.length) + (result.stderr.length - stderr.length);
	if (dropped === 0) {
		return result;
	}

	const where = requestId === undefined ? '`xi-exec runs show`' : `\`xi-exec runs show ${requestId} --agent ${result.agent}\``;
	const note = `the console keeps the last ${size(paneStreamChars)} of each stream: ${size(dropped)} before that dropped here (${where} has all of it)`;
	return {...result, stdout, stderr, notes: [...(result.notes ?? []), note]};
}
