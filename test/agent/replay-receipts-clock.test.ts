/**
 * Review s15 of 7b468ee: the run receipts are read back until the first record older than the
 * window less a margin, assuming the log is in clock order. One record written while the clock was
 * behind (a VM booted before NTP stepped it: `agent.started`; any record during a step back) after
 * a receipt hides that receipt at the next start: the run frame's replay within its window is taken
 * again. seen-requests (before 7b468ee) kept every id with its own time and lost none this way.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test from 'ava';
import {ReplayGuard} from '../../agent/replay-guard.js';
import {replayMemoryFor} from '../../agent/replay-memory.js';

const windowMs = 5 * 60 * 1000;
const noon = Date.UTC(2026, 0, 15, 12, 0, 0);
const line = (event: string, at: number, fields: Record<string, unknown> = {}) => JSON.stringify({agent: 'web1', event, ...fields, seq: 1, side: 'agent', ts: new Date(at).toISOString()}) + '\n';

for (const [title, behind] of [['a start while the clock was a day behind (before NTP)', 86_400_000], ['a record written during a 30-minute step back', 30 * 60_000]] as const) {
	test(`a run receipt followed by ${title} still refuses the run frame's replay after the next start`, t => {
		const directory = mkdtempSync(join(tmpdir(), 'xi-exec-receipts-clock-'));
		t.teardown(() => rmSync(directory, {recursive: true, force: true}));
		const log = join(directory, 'agent.jsonl');
		// Accepted at noon (its receipt); then a record stamped by a clock `behind`; then the clock right again.
		writeFileSync(log, line('agent.started', noon - 3_600_000) + line('request.received', noon, {msg: 'msg-run', requestId: 'r1'}) + line('run.finish', noon + 1000, {requestId: 'r1'}) + line('agent.started', noon + 60_000 - behind));
		const restartAt = noon + 120_000;
		const memory = replayMemoryFor(directory, () => restartAt, undefined, undefined, log);
		const guard = new ReplayGuard(windowMs, undefined, memory.memory);
		memory.load(guard);
		// The frame's own timestamp is noon: 2 minutes old, inside the ±5 min window.
		t.like(guard.check('msg-run', noon, restartAt, false), {ok: false, code: 'replayed'});
	});
}
