/**
 * `xi-exec serve`'s own log lines, beside the access log's: one JSON object per line on stdout
 * (journald takes stdout; `jq` reads it), each with `ts`, `level`, `event` and a `message` a
 * person reads. Events: `listening` (with the URLs), `problem` (a run that failed in the
 * background, a history or audit write that failed, an answer that broke its schema, a 500: all
 * `error`), `stopping` and `stopped`. Pure.
 */
export type ServeLogLevel = 'info' | 'warn' | 'error';

export function serveLogLine(now: Date, level: ServeLogLevel, event: string, message: string, fields: Record<string, unknown> = {}): string {
	return JSON.stringify({ts: now.toISOString(), level, event, message, ...fields});
}
