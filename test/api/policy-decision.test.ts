/** The central policy decision, as a table: what the agent reports × what the controller recorded × the token store. */
import test from 'ava';
import {argsHash} from '../../source/audit/record.js';
import {decidePolicy, asRequestRecord, type PolicyContext, type RequestRecord} from '../../source/api/policy-decision.js';
import type {TokenRecord} from '../../source/policy/tokens.js';
import type {AgentRecord} from '../../source/registry/model.js';

const now = new Date('2026-06-01T12:00:00Z');
const web1: AgentRecord = {name: 'web1', address: '127.0.0.1:1', tags: {env: 'production', site: 'london'}, serial: '1', fingerprint: 'f', certificateExpires: '2027-01-01T00:00:00Z', pairedAt: '2026-01-01T00:00:00Z'};
const token = (fields: Partial<TokenRecord> = {}): TokenRecord => ({id: 'aaaaaaaaaaaa', name: 'contractor', hash: '0'.repeat(64), scripts: ['restart'], on: ['site=london'], createdAt: '2026-01-01T00:00:00Z', expiresAt: null, revokedAt: null, ...fields});
const context = (fields: Partial<PolicyContext> = {}): PolicyContext => ({requestId: 'r-0000001', agent: {name: 'web1', tags: {}}, script: 'restart', args: ['nginx'], caller: 'api:contractor', token: {id: 'aaaaaaaaaaaa', name: 'contractor'}, source: '10.0.0.1', timestamp: now.toISOString(), dryRun: false, ...fields});
const record = (fields: Partial<RequestRecord> = {}): RequestRecord => ({event: 'run.request', requestId: 'r-0000001', script: 'restart', argsHash: argsHash(['nginx']), targets: ['web1'], caller: 'api:contractor', token: {id: 'aaaaaaaaaaaa', name: 'contractor'}, ...fields});

const table: Array<[string, {context?: Partial<PolicyContext>; record?: Partial<RequestRecord> | null; tokens?: TokenRecord[]; agent?: AgentRecord}, boolean, RegExp]> = [
	['a valid token in scope', {}, true, /^token contractor may run restart on web1$/],
	['a revoked token', {tokens: [token({revokedAt: '2026-05-01T00:00:00Z'})]}, false, /revoked at 2026-05-01/],
	['an expired token', {tokens: [token({expiresAt: '2026-06-01T11:59:59Z'})]}, false, /expired at/],
	['a token expiring later', {tokens: [token({expiresAt: '2026-06-02T00:00:00Z'})]}, true, /may run/],
	['a deleted token', {tokens: []}, false, /does not exist/],
	['a script outside the scope', {tokens: [token({scripts: ['status']})]}, false, /may not run restart/],
	['an agent outside the scope (by the registry\'s tags)', {agent: {...web1, tags: {site: 'paris'}}}, false, /may not reach web1/],
	['scope by agent name', {tokens: [token({on: ['web1']})]}, true, /may run/],
	['no controller record', {record: null}, false, /no record of request/],
	['another script than recorded', {context: {script: 'other'}}, false, /was for restart, not other/],
	['other arguments than recorded', {context: {args: ['apache']}}, false, /arguments differ/],
	['an agent the request was not sent to', {record: {targets: ['web2']}}, false, /not sent to web1/],
	['a certificate for another agent', {context: {agent: {name: 'web2', tags: {}}}}, false, /agent web1 asked about a run on web2/],
	['a dry run reported as a run', {record: {event: 'run.dry-run'}}, false, /was a dry run/],
	['a dry run recorded as one', {record: {event: 'run.dry-run'}, context: {dryRun: true}}, true, /may run/],
	['no token, recorded without one', {context: {token: null}, record: {token: undefined, caller: 'ops@host'}}, true, /^no token: a run requested by ops@host/],
	['no token, but recorded with one', {context: {token: null}}, false, /made with token contractor, but the agent reports none/],
	['a token, recorded without one', {record: {token: undefined}}, false, /not the one it was made with/],
	['a different token id', {context: {token: {id: 'bbbbbbbbbbbb'}}}, false, /not the one it was made with/],
];

for (const [what, facts, allow, reason] of table) {
	test(`${allow ? 'allows' : 'denies'}: ${what}`, t => {
		const answer = decidePolicy({
			context: context(facts.context),
			certificateAgent: facts.agent ?? web1,
			record: facts.record === null ? undefined : record(facts.record),
			tokens: facts.tokens ?? [token()],
			now,
		});
		t.is(answer.allow, allow);
		t.regex(answer.reason, reason);
	});
}

test('only run.request and run.dry-run audit records are request records', t => {
	t.like(asRequestRecord({event: 'run.request', requestId: 'r-0000001', script: 's', argsHash: 'h', targets: ['a', 1], caller: 'c', token: {id: 'x', name: 'n'}}), {targets: ['a'], token: {id: 'x', name: 'n'}});
	t.is(asRequestRecord({event: 'run.outcome', requestId: 'r-0000001', script: 's', argsHash: 'h', targets: [], caller: 'c'}), undefined);
	t.is(asRequestRecord({event: 'run.request', requestId: 'r-0000001', script: 's', targets: [], caller: 'c'}), undefined);
});
