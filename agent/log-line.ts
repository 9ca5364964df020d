/**
 * One line of the agent's log (its stdout, for journald and `jq`): `{"ts", "level", "event", ...}`
 * written by the one safe JSON writer, so text that came from elsewhere (a script's name and
 * arguments, a caller, a hook's reason, a peer's error) never reaches a terminal or a log viewer
 * as a raw control, escape, bidirectional override or line separator: JSON escapes them. The
 * line's own keys come last, so no field can stand in for them. Pure.
 */
import {safeJson} from '../source/output/visible.js';
import {levelOf} from './log-level.js';

export function formatLogLine(event: string, fields: Record<string, unknown>, now: Date): string {
	return `${safeJson({...fields, ts: now.toISOString(), level: levelOf(event, fields), event})}\n`;
}
