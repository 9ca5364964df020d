/** Each agent log line's level: refusals, failures and lost syslog records are warnings; the rest is info. */
import test from 'ava';
import {levelOf} from '../../agent/log-level.js';

const cases: Array<[string, Record<string, unknown>, 'info' | 'warn']> = [
	['listening', {}, 'info'],
	['run.finish', {status: 'ok'}, 'info'],
	['decision', {allowed: true}, 'info'],
	['decision', {allowed: false}, 'warn'],
	['run.refused', {}, 'warn'],
	['tls.refused', {}, 'warn'],
	['audit.failed', {}, 'warn'],
	['syslog.unreachable', {}, 'warn'],
	['syslog.dropped', {}, 'warn'],
	['syslog.reconnected', {}, 'info'],
	['relay.error', {}, 'warn'],
	['relay.refused', {}, 'warn'],
	['relay.results-damaged', {}, 'warn'],
	['relay.connected', {}, 'info'],
	['relay.status', {}, 'info'],
	['something.new', {}, 'info'],
];

for (const [event, fields, level] of cases) {
	test(`${event} ${JSON.stringify(fields)} is ${level}`, t => {
		t.is(levelOf(event, fields), level);
	});
}
