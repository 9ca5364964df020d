/**
 * How a run's cancel and its timeouts reach the hosts, through the real dispatcher with hosts of
 * the test's own (`runOnHost`): every running host is aborted once, with the run's reason; a host
 * that already ended is not; hosts never started end skipped; each host gets the run's options.
 * Counted, never timed (the timeouts are a few ms; the hosts wait for their abort, not a clock).
 */
import test from 'ava';
import type {ClientContext} from '../../source/dispatch/agent-connection.js';
import {dispatch, type DispatchOptions} from '../../source/dispatch/dispatcher.js';
import type {AgentRunOptions} from '../../source/dispatch/run-agent.js';
import type {AgentResult, RunEvent} from '../../source/run/events.js';

const request = {requestId: '00000000-0000-4000-8000-000000000001', script: 'wait', args: [], caller: 'test', timeoutMs: 1000, dryRun: false};
const targets = (count: number) => Array.from({length: count}, (_, index) => ({name: `web${index + 1}`, address: '127.0.0.1:1'}));
const result = (agent: string, status: AgentResult['status']): AgentResult => ({agent, status, exitCode: null, signal: null, stdout: '', stderr: '', truncated: false, durationMs: 0});

type Seen = {options: AgentRunOptions[]; reasons: Map<string, unknown>; abortsAfterEnd: string[]};

/**
 * Hosts that end on their own when `endsAlone(name)`, else wait for their abort (and answer
 * cancelled). `onStart` runs as each host starts (`started` counts them).
 */
function waitingHosts(seen: Seen, endsAlone: (name: string) => boolean, onStart?: (name: string, options: AgentRunOptions, started: number) => void): DispatchOptions['runOnHost'] {
	let started = 0;
	return async (target, _request, options) => {
		seen.options.push(options);
		onStart?.(target.name, options, ++started);
		if (endsAlone(target.name)) {
			await Promise.resolve();
			options.cancel.addEventListener('abort', () => seen.abortsAfterEnd.push(target.name));
			return result(target.name, 'ok');
		}

		await new Promise<void>(resolve => {
			options.cancel.addEventListener('abort', () => resolve(), {once: true});
		});
		seen.reasons.set(target.name, options.cancel.reason);
		return result(target.name, 'cancelled');
	};
}

const newSeen = (): Seen => ({options: [], reasons: new Map(), abortsAfterEnd: []});

test('a cancel aborts every running host once with "cancelled"; the ones never started end skipped; one that ended is not aborted', async t => {
	const seen = newSeen();
	const cancel = new AbortController();
	const events: RunEvent[] = [];
	const summary = await dispatch(targets(300), request, {
		context: {} as ClientContext,
		parallel: 256,
		cancel: cancel.signal,
		emit: event => events.push(event),
		runOnHost: waitingHosts(seen, name => name === 'web1', (_name, _options, started) => {
			// web1 has ended and web257 took its place: 256 running.
			if (started === 257) {
				setImmediate(() => cancel.abort());
			}
		}),
	});
	t.is(seen.reasons.size, 256, 'every running host: web2 to web257');
	t.deepEqual(new Set(seen.reasons.values()), new Set(['cancelled']));
	t.deepEqual(seen.abortsAfterEnd, [], 'web1 ended before the cancel and was not aborted');
	t.deepEqual(summary.counts, {ok: 1, cancelled: 256, skipped: 43});
	const finished = events.filter(event => event.type === 'agent-finished');
	t.is(finished.length, 300, 'exactly one agent-finished per target');
	t.is(finished.at(-1)?.type === 'agent-finished' ? finished.at(-1)!.result.reason : undefined, 'not started: the run was cancelled');
});

test('the run timeout aborts the running hosts with "run-timeout" and they end timeout, saying so', async t => {
	const seen = newSeen();
	const summary = await dispatch(targets(20), request, {
		context: {} as ClientContext,
		parallel: 8,
		runTimeoutMs: 5,
		runOnHost: waitingHosts(seen, () => false),
	});
	t.is(seen.reasons.size, 8);
	t.deepEqual(new Set(seen.reasons.values()), new Set(['run-timeout']));
	t.deepEqual(summary.counts, {timeout: 8, skipped: 12});
	t.is(summary.notOk[0]?.reason, 'the run\'s --run-timeout (0.005 s) fired');
	t.is(summary.notOk.at(-1)?.reason, 'not started: the run\'s --run-timeout (0.005 s) fired');
});

test('the idle timeout aborts only the host that went quiet after it started, and it ends timeout', async t => {
	const seen = newSeen();
	const summary = await dispatch(targets(3), request, {
		context: {} as ClientContext,
		parallel: 3,
		idleTimeoutMs: 5,
		runOnHost: waitingHosts(seen, name => name !== 'web2', (name, options) => {
			if (name === 'web2') {
				options.emit({type: 'agent-started', agent: name});
			}
		}),
	});
	t.deepEqual([...seen.reasons], [['web2', 'idle-timeout']]);
	t.deepEqual(summary.counts, {ok: 2, timeout: 1});
	t.is(summary.notOk[0]?.reason, 'no output for 0.005 s (--idle-timeout)');
});

test('each host is given the run\'s options, its own cancel, and an emit that reaches the run\'s', async t => {
	const seen = newSeen();
	const revoked = new Set(['ab']);
	const context = {} as ClientContext;
	const events: RunEvent[] = [];
	await dispatch(targets(2), request, {
		context,
		parallel: 2,
		revoked,
		emit: event => events.push(event),
		runOnHost: waitingHosts(seen, () => true, (name, options) => {
			options.emit({type: 'agent-connecting', agent: name});
		}),
	});
	t.is(seen.options.length, 2);
	for (const options of seen.options) {
		t.is(options.context, context);
		t.is(options.revoked, revoked);
		t.is(options.connectTimeoutMs, 5000);
		t.is(options.answerGraceMs, 10_000);
		t.false('freshContext' in options);
		t.false('hold' in options);
	}

	t.not(seen.options[0]!.cancel, seen.options[1]!.cancel, 'a cancel of its own');
	t.deepEqual(events.filter(event => event.type === 'agent-connecting').map(event => event.type === 'agent-connecting' && event.agent), ['web1', 'web2']);
});
