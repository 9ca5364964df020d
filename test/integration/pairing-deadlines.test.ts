/**
 * The pairing listener under 200 idle or slow connections (from 127.0.0.2, so its per-source
 * limit does not touch the real agent on 127.0.0.1): raw TCP that never says hello, a handshake
 * begun and never finished, a TLS connection that never sends its commit, one that trickles
 * bytes that never make a frame. Each is cut within its deadline while a real agent pairs; their
 * refusals reach the audit as one record and one counted summary for the source, not 200.
 */
import test from 'ava';
import type {AuditFields} from '../../source/audit/record.js';
import {createPairingAuditRecorder} from '../../source/pairing/audit-fields.js';
import {createController} from '../helpers/fleet.js';
import {openFlood, within} from '../helpers/idle-flood.js';
import {createAgentHome, openTestListener, pairAgent, storedCredentials} from '../helpers/pairing-peers.js';

const stepTimeoutMs = 2000;
/**
 * How long after its deadline a connection may still be open. Not a speed check (the bench measures
 * time): it tells "cut by the deadline" from the old behaviour (open for 140 s and more) on a shared
 * host whose load reached 30 during a full run, where 4 s of slack failed at 6.8 s. The exact close
 * times are logged.
 */
const slackMs = 20_000;

test('200 idle or slow connections are cut within the step deadline while a real agent pairs; the audit gets one record and one summary for them', async t => {
	const controllerHome = await createController();
	const recorded: AuditFields[] = [];
	const recorder = createPairingAuditRecorder(async fields => {
		recorded.push(fields);
	}, {now: () => new Date()});
	const listener = await openTestListener(controllerHome, {stepTimeoutMs, onEvent: event => recorder.record(event)});
	t.teardown(async () => listener.listener.close());
	const flood = openFlood(listener.hostPort.port, {'tcp': 50, 'partial-hello': 50, 'tls-idle': 50, 'tls-trickle': 50}, {localAddress: '127.0.0.2', trickle: 'x'});
	t.teardown(() => flood.destroy());

	const agentHome = createAgentHome('web1', 7441);
	const agent = pairAgent(agentHome, listener.address, {caSha256: listener.caSha256});
	await listener.request('web1');
	t.true((await listener.listener.approve('web1', await agent.code())).ok);
	t.is(await agent.done, 0);
	t.deepEqual(storedCredentials(agentHome.home).sort(), ['agent.key', 'agent.pem', 'ca.pem', 'pins.json']);

	const closed = await within(flood.closed, stepTimeoutMs + 30_000, 'the flood was not cut');
	const latest = Object.fromEntries(['tcp', 'partial-hello', 'tls-idle', 'tls-trickle'].map(kind => [kind, Math.max(...closed.filter(entry => entry.kind === kind).map(entry => entry.afterMs))]));
	t.log('latest close per kind (ms):', latest);
	for (const [kind, afterMs] of Object.entries(latest)) {
		t.true(afterMs <= stepTimeoutMs + slackMs, `${kind}: the last was closed after ${afterMs} ms`);
	}

	// Every one of the 200 was refused (the listener's events), in words that say why.
	const refusals = listener.events.all.filter(event => event.event === 'refused' && event.source === '127.0.0.2');
	t.is(refusals.length, 200);
	const reasons = new Set(refusals.map(event => (event as {reason: string}).reason));
	t.true(reasons.has('TLS handshake failed (ERR_TLS_HANDSHAKE_TIMEOUT); pairing needs TLS 1.3'), [...reasons].join(' | '));
	t.true(reasons.has(`no commit within ${stepTimeoutMs / 1000} s`), [...reasons].join(' | '));
	t.true(reasons.has('too many pairing requests from 127.0.0.2 (2); finish or cancel one first'), [...reasons].join(' | '));

	await recorder.close();
	const fromFlood = recorded.filter(fields => fields['source'] === '127.0.0.2');
	t.is(fromFlood.length, 2, JSON.stringify(fromFlood));
	t.like(fromFlood[0], {event: 'pairing.refused', agent: null, ceremony: null, source: '127.0.0.2'});
	t.like(fromFlood[1], {event: 'pairing.refused-summary', source: '127.0.0.2', count: 199, windowSeconds: 60});
	// The real agent's ceremony is recorded whole.
	t.deepEqual(recorded.filter(fields => fields['agent'] === 'web1').map(fields => fields.event), ['pairing.request', 'pairing.approved', 'pairing.paired']);
});
