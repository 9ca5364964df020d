/**
 * The per-token call limits held across every process that serves MCP calls from one controller
 * home: each `xi-exec mcp` process (one per AI client over stdio) and `xi-exec serve` (/mcp). The
 * ledger (`mcp-calls.json`, 0600) is changed under a cross-process lock; a call is entered with
 * the process holding it, so the calls of a process that died are dropped at the next admission.
 * Without this, two AI clients started with one token would each get the token's whole limit.
 */
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {openLockedJsonStore} from '../io/locked-json-store.js';
import {holderAlive, processHolder} from '../io/process-identity.js';
import {admitCall, emptyCallLedger, endCall, type CallLedger, type CallLimiter, type CallLimits} from '../policy/call-limits.js';

export function callLedgerPath(home: string): string {
	return join(home, 'mcp-calls.json');
}

export function createSharedCallLimiter(home: string, limits: CallLimits, now: () => number): CallLimiter {
	const store = openLockedJsonStore<CallLedger>(callLedgerPath(home), {
		what: 'MCP call ledger',
		empty: emptyCallLedger,
		parse(value) {
			const ledger = value as CallLedger | null;
			return ledger && ledger.version === 1 && typeof ledger.tokens === 'object' && ledger.tokens !== null ? ledger : 'expected {"version": 1, "tokens": {...}}';
		},
	});
	const holder = processHolder();
	return {
		async admit(token, options = {}) {
			const call = randomUUID();
			let refusal: string | undefined;
			await store.update(ledger => {
				const admitted = admitCall(ledger, limits, now(), token, {call, holder, ...options}, holderAlive);
				refusal = admitted.refusal;
				return admitted.ledger;
			});
			if (refusal !== undefined) {
				return {ok: false, reason: refusal};
			}

			let ended = false;
			return {
				ok: true,
				async done() {
					if (!ended) {
						ended = true;
						await store.update(ledger => endCall(ledger, token.id, call));
					}
				},
			};
		},
	};
}
