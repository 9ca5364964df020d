/**
 * Presence heartbeats over the relay: a relay agent says it is there by publishing, on its own
 * presence subject (`xi.p.NAME`), `{env, sig}` with env `{v: 1, kind: "presence", agent, serial,
 * iat}` signed with its certificate's key (as its replies are). The broker only lets an agent
 * publish on its own subject, but the broker is transport, never trust: the controller counts a
 * presence only when, in this order,
 *
 *   1. it is a presence message (shape, size);
 *   2. it came on the subject of the agent it names;
 *   3. the registry holds that agent as a relay agent (transport nats or both) with that serial,
 *      and the serial is not revoked;
 *   4. its signature verifies with the certificate the registry holds for it;
 *   5. it was issued within the clock window of now, and after the last presence counted for
 *      that agent (a replayed heartbeat does not make an agent "seen" again).
 *
 * Each refusal is worded. Pure: the registry's records, the clock and the memory of the last
 * presence per agent are passed in.
 */
import {limits} from '../protocol/frames.js';
import {relayEnvelopeVersion, signatureValid, type PresenceEnvelope} from '../protocol/relay-envelope.js';
import {relaySubjects} from '../protocol/relay-subjects.js';
import {safeJsonParse} from '../protocol/safe-json.js';
import {isAgentName} from '../protocol/text-checks.js';

/** How often an agent says it is there (and once as it connects): kept with the presence state the registry's readers use. */
export {presenceIntervalMs} from '../registry/presence-state.js';
const maxPresenceBytes = 2048;

export function presenceEnvelope(agent: string, serial: string, iat: number): PresenceEnvelope {
	return {v: relayEnvelopeVersion, kind: 'presence', agent, serial, iat};
}

export type PresenceRecord = {name: string; serial: string; certificate?: string; transport?: string};

export type PresenceContext = {
	/** The registry's record of an agent, by name. */
	record: (name: string) => PresenceRecord | undefined;
	revoked: ReadonlySet<string>;
	/** The issue time of the last presence counted per agent (updated by checkPresence when it counts one). */
	last: Map<string, number>;
	now: number;
	windowMs?: number;
};

export type PresenceVerdict = {ok: true; agent: string; at: number} | {ok: false; reason: string; agent?: string};

export function checkPresence(subject: string, text: string, context: PresenceContext): PresenceVerdict {
	const env = parsePresence(text);
	if (typeof env === 'string') {
		return {ok: false, reason: env};
	}

	const {agent} = env.env;
	const refuse = (reason: string): PresenceVerdict => ({ok: false, reason, agent});
	if (subject !== relaySubjects.presence(agent)) {
		return refuse(`a presence of agent ${agent} arrived on ${subject}, not on its own subject`);
	}

	const record = context.record(agent);
	if (!record?.certificate || (record.transport !== 'nats' && record.transport !== 'both')) {
		return refuse(`agent ${agent} is not a relay agent in the registry`);
	}

	if (context.revoked.has(env.env.serial)) {
		return refuse(`agent ${agent}'s presence names certificate serial ${env.env.serial}, which is revoked`);
	}

	if (env.env.serial !== record.serial) {
		return refuse(`agent ${agent}'s presence names certificate serial ${env.env.serial}; the registry holds ${record.serial}`);
	}

	if (!signatureValid(env.env, env.sig, record.certificate)) {
		return refuse(`agent ${agent}'s presence signature does not verify with its certificate`);
	}

	const windowMs = context.windowMs ?? limits.clockSkewMs;
	if (Math.abs(context.now - env.env.iat) > windowMs) {
		return refuse(`agent ${agent}'s presence was issued ${Math.round((context.now - env.env.iat) / 1000)} s away from the controller's clock (window ±${windowMs / 1000} s)`);
	}

	const last = context.last.get(agent);
	if (last !== undefined && env.env.iat <= last) {
		return refuse(`agent ${agent}'s presence of ${new Date(env.env.iat).toISOString()} is not newer than the last one counted: replayed`);
	}

	context.last.set(agent, env.env.iat);
	return {ok: true, agent, at: Math.min(env.env.iat, context.now)};
}

function parsePresence(text: string): {env: PresenceEnvelope; sig: string} | string {
	if (Buffer.byteLength(text) > maxPresenceBytes) {
		return `a presence message is larger than ${maxPresenceBytes} bytes`;
	}

	const parsed = safeJsonParse(text, 3);
	const value = parsed.ok ? parsed.value as {env?: Record<string, unknown>; sig?: unknown} | null : null;
	const env = value !== null && typeof value === 'object' && !Array.isArray(value) ? value.env : undefined;
	if (typeof env !== 'object' || env === null || Array.isArray(env) || typeof value?.sig !== 'string' || !/^[A-Za-z\d+/]+={0,2}$/.test(value.sig)) {
		return 'a presence message must be a JSON object {env, sig}';
	}

	const valid = env['v'] === relayEnvelopeVersion && env['kind'] === 'presence' && typeof env['agent'] === 'string' && isAgentName(env['agent'])
		&& typeof env['serial'] === 'string' && /^[\da-f]{1,40}$/.test(env['serial']) && Number.isSafeInteger(env['iat']) && (env['iat'] as number) > 0
		&& Object.keys(env).length === 5;
	return valid ? {env: env as PresenceEnvelope, sig: value.sig} : 'a presence envelope must be {v: 1, kind: "presence", agent, serial, iat}';
}

/** The brokers the registry's relay agents use (one presence watch each). */
export function relayBrokers(agents: ReadonlyArray<{transport?: string; relay?: string}>): string[] {
	return [...new Set(agents.filter(agent => (agent.transport === 'nats' || agent.transport === 'both') && agent.relay).map(agent => agent.relay!))];
}
