/** A pairing event as an audit record: who, from where, and a hash of the code (never the code). */
import type {AuditFields} from '../audit/record.js';
import {createRefusalLimiter, refusalWindowMs, type RefusalSummary} from '../audit/refusal-limiter.js';
import type {PairingEvent} from './listener.js';

export function pairingAuditFields(event: PairingEvent): AuditFields | undefined {
	switch (event.event) {
		case 'listening': {
			return {event: 'pairing.listening', address: event.address};
		}

		case 'request': {
			return {event: 'pairing.request', ceremony: event.ceremony, agent: event.agent, address: event.address, source: event.source, tags: event.tags, keyFingerprint: event.fingerprint, ...transportFields(event)};
		}

		case 'wrong-code': {
			return {event: 'pairing.wrong-code', ceremony: event.ceremony, agent: event.agent, codeHash: event.codeHash, triesLeft: event.triesLeft};
		}

		case 'approved': {
			return {event: 'pairing.approved', ceremony: event.ceremony, agent: event.agent, serial: event.serial, codeHash: event.codeHash};
		}

		case 'paired': {
			return {event: 'pairing.paired', ceremony: event.ceremony, agent: event.agent, serial: event.serial, address: event.address, tags: event.tags, ...transportFields(event)};
		}

		case 'refused': {
			return {event: 'pairing.refused', ceremony: event.ceremony, agent: event.agent, source: event.source, reason: event.reason};
		}
	}
}

export type PairingAuditRecorder = {record: (event: PairingEvent) => void; close: () => Promise<void>};

/**
 * Records pairing events in the audit log. Refusals of connections that never became a request
 * the operator saw (TLS garbage, bad or missing first messages: anyone can send them) are
 * rate-limited per source (refusal-limiter.ts): the first of each minute is recorded, the rest
 * become one `pairing.refused-summary` with their count. Everything else is recorded one by one.
 */
export function createPairingAuditRecorder(append: (fields: AuditFields) => Promise<unknown>, options: {now: () => Date; onError?: (error: unknown) => void; windowMs?: number}): PairingAuditRecorder {
	const windowMs = options.windowMs ?? refusalWindowMs;
	const limiter = createRefusalLimiter(windowMs);
	const requested = new Set<string>();
	const writes = new Set<Promise<unknown>>();
	const write = (fields: AuditFields) => {
		const written = append(fields).catch((error: unknown) => options.onError?.(error)).finally(() => writes.delete(written));
		writes.add(written);
	};

	const summaries = (list: RefusalSummary[]) => {
		for (const summary of list) {
			write({event: 'pairing.refused-summary', ...summary, windowSeconds: windowMs / 1000});
		}
	};

	const timer = setInterval(() => {
		summaries(limiter.due(options.now()));
	}, Math.min(windowMs / 4, 15_000));
	timer.unref();

	return {
		record(event) {
			if (event.event === 'request') {
				requested.add(event.ceremony);
			}

			const fields = pairingAuditFields(event);
			if (!fields) {
				return;
			}

			if (event.event === 'refused' && (event.ceremony === null || !requested.has(event.ceremony))) {
				if (!limiter.admit(event.source, event.reason, options.now())) {
					return;
				}
			} else if (event.event === 'refused' || event.event === 'paired') {
				requested.delete(event.ceremony ?? '');
			}

			write(fields);
		},
		async close() {
			clearInterval(timer);
			summaries(limiter.drain());
			await Promise.allSettled([...writes]);
		},
	};
}

/** A relay agent's transport and broker (a direct-TLS agent's records stay as they were). */
function transportFields(event: {transport?: string; relay?: string}): Record<string, string> {
	return event.transport === undefined ? {} : {transport: event.transport, ...(event.relay === undefined ? {} : {relay: event.relay})};
}
