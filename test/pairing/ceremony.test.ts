/**
 * The pairing ceremony's machine as a table: a sequence of inputs (the agent's frames, the
 * listener's checks, the operator's codes, the end), what the machine says to each (the act or
 * the exact refusal) and the phase it ends in. The listener-wide limits (connections, commits,
 * abandonment) are tables too. test/integration/pairing-*.test.ts checks the same rules over
 * real TLS for a few of these rows.
 */
import test from 'ava';
import {commitRefusal, connectionRefusal, countAbandoned, limits, newCeremony, nextCeremony, noneAbandoned, type Abandoned, type CeremonyInput, type CeremonyState, type Commit} from '../../source/pairing/ceremony.js';
import {encodePairing, type AgentMessage} from '../../source/pairing/messages.js';

const hex64 = 'ab'.repeat(32);
const commit: Commit = {type: 'commit', name: 'web1', address: '10.0.0.5:7441', tags: {site: 'london'}, csr: 'CSR', commitment: hex64};
const line = (message: AgentMessage, expired = false): CeremonyInput => ({type: 'line', line: encodePairing(message).trimEnd(), expired});
const frames = {
	commit: line(commit),
	reveal: line({type: 'reveal', nonce: hex64}),
	confirmed: line({type: 'confirmed'}),
	declined: line({type: 'declined', reason: 'the operator said no'}),
};
const right: CeremonyInput = {type: 'code', matches: true, expired: false};
const wrong: CeremonyInput = {type: 'code', matches: false, expired: false};

/** How a verdict reads in the table. */
function says(state: CeremonyState, input: CeremonyInput): {said: string; state: CeremonyState} {
	const {verdict, state: after} = nextCeremony(state, input);
	const said = verdict.act === 'refuse' ? `refuse: ${verdict.reason}`
		: verdict.act === 'end' ? `end${verdict.reason === undefined ? '' : `: ${verdict.reason}`}${verdict.abandoned ? ' (abandoned)' : ''}`
			: verdict.act === 'wrong-code' ? `wrong code, ${verdict.triesLeft} left${verdict.last ? ', last' : ''}`
				: verdict.act;
	return {said, state: after};
}

/** The happy path up to a phase. */
const through = {
	reveal: [frames.commit, {type: 'committed'}] as CeremonyInput[],
	approval: [frames.commit, {type: 'committed'}, frames.reveal, {type: 'revealed'}] as CeremonyInput[],
	confirmation: [frames.commit, {type: 'committed'}, frames.reveal, {type: 'revealed'}, right, {type: 'issued'}] as CeremonyInput[],
};

const cases: Array<{title: string; before?: CeremonyInput[]; inputs: CeremonyInput[]; says: string[]; phase: CeremonyState['phase']}> = [
	{title: 'the whole ceremony, in order', inputs: [...through.confirmation, frames.confirmed, {type: 'end'}], says: ['check-commit', 'send-nonce', 'check-reveal', 'ask-operator', 'issue', 'send-certificate', 'record', 'end'], phase: 'ended'},
	{title: 'a reveal before the commit is out of order', inputs: [frames.reveal], says: ['refuse: out of order: got reveal while expecting commit'], phase: 'commit'},
	{title: 'a confirmation before the commit is out of order', inputs: [frames.confirmed], says: ['refuse: out of order: got confirmed while expecting commit'], phase: 'commit'},
	{title: 'a second commit is out of order', before: through.reveal, inputs: [frames.commit], says: ['refuse: out of order: got commit while expecting reveal'], phase: 'reveal'},
	{title: 'a confirmation before the approval is out of order', before: through.reveal, inputs: [frames.confirmed], says: ['refuse: out of order: got confirmed while expecting reveal'], phase: 'reveal'},
	{title: 'any frame while the operator decides is out of order', before: through.approval, inputs: [frames.confirmed], says: ['refuse: out of order: got confirmed while waiting for the operator'], phase: 'approval'},
	{title: 'a reveal while the operator decides is out of order', before: through.approval, inputs: [frames.reveal], says: ['refuse: out of order: got reveal while waiting for the operator'], phase: 'approval'},
	{title: 'a frame while the certificate is signed is out of order', before: [...through.approval, right], inputs: [frames.confirmed], says: ['refuse: out of order: got confirmed while waiting for the operator'], phase: 'issuing'},
	{title: 'a commit after the certificate is out of order', before: through.confirmation, inputs: [frames.commit], says: ['refuse: out of order: got commit while expecting confirmed'], phase: 'confirmation'},
	{title: 'declined is accepted in any phase, and ends it', before: through.approval, inputs: [frames.declined], says: ['refuse: declined on the agent: the operator said no'], phase: 'approval'},
	{title: 'declined at the first step', inputs: [frames.declined], says: ['refuse: declined on the agent: the operator said no'], phase: 'commit'},
	{title: 'a line that is not JSON', inputs: [{type: 'line', line: '{', expired: false}], says: [`refuse: bad pairing message: not JSON (${jsonError('{')})`], phase: 'commit'},
	{title: 'a frame of another version', inputs: [{type: 'line', line: JSON.stringify({...commit, v: 2}), expired: false}], says: ['refuse: bad pairing message: pairing protocol version 2 is not supported'], phase: 'commit'},
	{title: 'a frame after the expiry, however good', before: through.reveal, inputs: [line({type: 'reveal', nonce: hex64}, true)], says: ['expired'], phase: 'reveal'},
	{title: 'a right code after the expiry', before: through.approval, inputs: [{type: 'code', matches: true, expired: true}], says: ['expired'], phase: 'approval'},
	{title: 'wrong codes count down, and the last ends the request', before: through.approval, inputs: [wrong, wrong, wrong], says: ['wrong code, 2 left', 'wrong code, 1 left', 'wrong code, 0 left, last'], phase: 'approval'},
	{title: 'a right code after wrong ones', before: through.approval, inputs: [wrong, wrong, right], says: ['wrong code, 2 left', 'wrong code, 1 left', 'issue'], phase: 'issuing'},
	{title: 'no second approval while the certificate is signed', before: through.approval, inputs: [right, right], says: ['issue', 'ignore'], phase: 'issuing'},
	{title: 'a code before the request is pending does nothing', before: through.reveal, inputs: [right], says: ['ignore'], phase: 'reveal'},
	{title: 'a certificate signed after the ceremony ended is not sent', before: [...through.approval, right], inputs: [{type: 'end', reason: 'the agent disconnected'}, {type: 'issued'}], says: ['end: the agent disconnected', 'ignore'], phase: 'ended'},
	{title: 'ending after the nonce and before the reveal counts as abandoned', before: through.reveal, inputs: [{type: 'end', reason: 'the agent disconnected'}], says: ['end: the agent disconnected (abandoned)'], phase: 'ended'},
	{title: 'ending before the commit is not abandoned', inputs: [{type: 'end', reason: 'no commit within 10 s'}], says: ['end: no commit within 10 s'], phase: 'ended'},
	{title: 'ending while the operator decides is not abandoned', before: through.approval, inputs: [{type: 'end', reason: 'rejected by the operator'}], says: ['end: rejected by the operator'], phase: 'ended'},
	{title: 'after the end, everything is ignored', inputs: [{type: 'end'}, frames.commit, {type: 'committed'}, right, {type: 'end', reason: 'again'}], says: ['end', 'ignore', 'ignore', 'ignore', 'ignore'], phase: 'ended'},
	{title: 'a check\'s outcome in another phase does nothing', inputs: [{type: 'revealed'}, {type: 'issued'}], says: ['ignore', 'ignore'], phase: 'commit'},
];

function jsonError(text: string): string {
	try {
		JSON.parse(text);
	} catch (error) {
		return (error as Error).message;
	}

	return '';
}

for (const c of cases) {
	test(`ceremony: ${c.title}`, t => {
		let state = newCeremony;
		for (const input of c.before ?? []) {
			const next = says(state, input);
			t.false(next.said.startsWith('refuse') || next.said.startsWith('end'), `set-up step ${input.type} said ${next.said}`);
			state = next.state;
		}

		const said: string[] = [];
		for (const input of c.inputs) {
			const next = says(state, input);
			said.push(next.said);
			state = next.state;
		}

		t.deepEqual(said, c.says);
		t.is(state.phase, c.phase);
	});
}

test('ceremony: a refusal leaves the state as it was (the socket layer ends it)', t => {
	const state: CeremonyState = {phase: 'reveal', wrongCodes: 0};
	t.is(nextCeremony(state, frames.commit).state, state);
});

test('connections: refused past the limits, in all and per source, and without TLS 1.3', t => {
	const many = (count: number, source = 'a') => Array.from({length: count}, (_, index) => `${source}${index}`);
	const rows: Array<[string[], string, boolean, string | undefined]> = [
		[[], '10.0.0.1', true, undefined],
		[[], '10.0.0.1', false, 'pairing needs TLS 1.3 with an exporter'],
		[many(limits.pending - 1), '10.0.0.1', true, undefined],
		[many(limits.pending), '10.0.0.1', true, `too many pairing requests in progress (${limits.pending}); try again later`],
		[['10.0.0.1'], '10.0.0.1', true, undefined],
		[['10.0.0.1', '10.0.0.1'], '10.0.0.1', true, `too many pairing requests from 10.0.0.1 (${limits.pendingPerSource}); finish or cancel one first`],
		[['10.0.0.1', '10.0.0.1'], '10.0.0.2', true, undefined],
	];
	for (const [active, source, tls13, refusal] of rows) {
		t.is(connectionRefusal(active, source, tls13), refusal, `${active.length} active, from ${source}`);
	}
});

test('commits: the name, the address, the tags, abandonment and a pending twin, in that order', t => {
	const abandonedFor = (name: string, times: number): Abandoned => Array.from({length: times}).reduce<Abandoned>(counts => countAbandoned(counts, name), noneAbandoned);
	const grinding = 'were abandoned before the code was fixed, which is what a man in the middle trying codes does; check the network path, then restart the pairing listener';
	const rows: Array<[string, Commit, Abandoned, string[], string | undefined]> = [
		['a good commit', commit, noneAbandoned, [], undefined],
		['a bad name', {...commit, name: 'Web 1'}, noneAbandoned, [], 'agent name "Web 1" is not valid'],
		['a bad name is named before a bad address', {...commit, name: '-x', address: 'nowhere'}, noneAbandoned, [], 'agent name "-x" is not valid'],
		['an address without a port', {...commit, address: 'nowhere'}, noneAbandoned, [], 'agent address "nowhere" is not HOST:PORT'],
		['a bad tag', {...commit, tags: {'Bad Key': 'x'}}, noneAbandoned, [], 'proposed tags refused: tag key "Bad Key" must match ^[a-z0-9][a-z0-9._-]{0,62}$'],
		['abandoned under the limit for the name', commit, abandonedFor('web1', limits.abandonedPerName - 1), [], undefined],
		['abandoned up to the limit for the name', commit, abandonedFor('web1', limits.abandonedPerName), [], `too many pairing attempts for web1 ${grinding}`],
		['another name is still accepted', {...commit, name: 'web2'}, abandonedFor('web1', limits.abandonedPerName), [], undefined],
		['abandoned up to the limit in all stops everyone', {...commit, name: 'web2'}, {perName: new Map(), total: limits.abandonedTotal}, [], `too many pairing attempts ${grinding}`],
		['a pending request for the same name', commit, noneAbandoned, ['db1', 'web1'], 'a pairing request for web1 is already pending'],
		['a pending request for another name', commit, noneAbandoned, ['db1'], undefined],
	];
	for (const [title, proposed, abandoned, pending, refusal] of rows) {
		t.is(commitRefusal(proposed, abandoned, pending), refusal, title);
	}
});

test('abandonment counts per name and in all, without changing the counts it was given', t => {
	const once = countAbandoned(noneAbandoned, 'web1');
	const twice = countAbandoned(once, 'web2');
	t.deepEqual([...twice.perName], [['web1', 1], ['web2', 1]]);
	t.is(twice.total, 2);
	t.is(noneAbandoned.total, 0);
	t.is(once.perName.get('web2'), undefined);
});
