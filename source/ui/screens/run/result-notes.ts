/**
 * What a host's result says beyond its status, as the CLI prints it after the status line
 * (`NAME ~ note`): the notes of what happened on the way (a relay gap recovered, a duplicate
 * dropped, direct TLS failing over to the relay), each made visible, and the link that carried
 * the run when it was not the default direct TLS. The panes and result rows of the run screen
 * show them; the output view ends with them. Pure.
 */
import type {AgentResult} from '../../../run/events.js';
import {visible} from '../../../output/visible.js';

/** `~ note` lines, in the order the result gives them; none before the host has finished. */
export function noteLines(result: Pick<AgentResult, 'notes'> | undefined): string[] {
	return (result?.notes ?? []).map(note => `~ ${visible(note)}`);
}

/** ` via relay` when the relay carried the run; nothing for direct TLS (every run's way) or before the result. */
export function relayMark(result: Pick<AgentResult, 'via'> | undefined): string {
	return result?.via === 'relay' ? ' via relay' : '';
}
