/** A pairing event as an audit record: who, from where, and a hash of the code (never the code). */
import type {AuditFields} from '../audit/record.js';
import type {PairingEvent} from './listener.js';

export function pairingAuditFields(event: PairingEvent): AuditFields | undefined {
	switch (event.event) {
		case 'listening': {
			return {event: 'pairing.listening', address: event.address};
		}

		case 'request': {
			return {event: 'pairing.request', ceremony: event.ceremony, agent: event.agent, address: event.address, source: event.source, tags: event.tags, keyFingerprint: event.fingerprint};
		}

		case 'wrong-code': {
			return {event: 'pairing.wrong-code', ceremony: event.ceremony, agent: event.agent, codeHash: event.codeHash, triesLeft: event.triesLeft};
		}

		case 'approved': {
			return {event: 'pairing.approved', ceremony: event.ceremony, agent: event.agent, serial: event.serial, codeHash: event.codeHash};
		}

		case 'paired': {
			return {event: 'pairing.paired', ceremony: event.ceremony, agent: event.agent, serial: event.serial, address: event.address, tags: event.tags};
		}

		case 'refused': {
			return {event: 'pairing.refused', ceremony: event.ceremony, agent: event.agent, source: event.source, reason: event.reason};
		}
	}
}
