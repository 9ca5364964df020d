/** crossVerify: the controller's log against agents' logs, records built with chainRecord directly. */
import test from 'ava';
import {crossVerify, type CrossProblem} from '../../source/audit/cross-verify.js';
import {argsHash, chainRecord, type AuditFields, type AuditRecord, type AuditSide, type ChainHead} from '../../source/audit/record.js';

function chain(log: string, side: AuditSide, fields: AuditFields[]): AuditRecord[] {
	const records: AuditRecord[] = [];
	let head: ChainHead | undefined;
	for (const [index, item] of fields.entries()) {
		const record = chainRecord(head, {log, side, now: new Date(Date.UTC(2026, 0, 14, 10, 0, index))}, item);
		head = {log, seq: record.seq, hash: record.hash};
		records.push(record);
	}

	return records;
}

/** The head a side records of the other: {seq: N, hash of record N-1}, as a checkpoint states it. */
const witness = (records: readonly AuditRecord[], seq: number) => ({log: records[seq - 1]!.log, seq, hash: records[seq - 1]!.hash});

const args = ['--lines', '20'];
const request = (requestId: string, targets = ['web1', 'web2']): AuditFields => ({event: 'run.request', requestId, script: 'tail-log', args, argsHash: argsHash(args), targets});
const outcome = (requestId: string, agent: string, status: string, agentHead?: ChainHead): AuditFields => ({event: 'run.outcome', requestId, agent, status, agentHead});
const finish = (requestId: string, status = 'ok', hash = argsHash(args), controllerHead?: ChainHead): AuditFields => ({event: 'run.finish', requestId, argsHash: hash, status, controllerHead});

/** A consistent pair of sides: request 1 on web1 and web2, both ok, each side witnessing the other. */
function consistent() {
	const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1'}, finish('req-1')]);
	const web2 = chain('log-web2', 'agent', [{event: 'run.received', requestId: 'req-1'}, finish('req-1')]);
	const controller = chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web1', 'ok', witness(web1, 2)), outcome('req-1', 'web2', 'ok', witness(web2, 2))]);
	return {controller, web1, web2};
}

type Row = {title: string; build: () => {controller: AuditRecord[]; agents: Array<{agent: string; records: AuditRecord[]}>}; problems: CrossProblem[] | ((records: AuditRecord[]) => CrossProblem[])};

const rows: Row[] = [
	{
		title: 'both sides agree',
		build() {
			const {controller, web1, web2} = consistent();
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [],
	},
	{
		title: 'a missing agent record',
		build() {
			const {controller, web2} = consistent();
			return {controller, agents: [{agent: 'web1', records: chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1'}])}, {agent: 'web2', records: web2}]};
		},
		problems: [
			{requestId: 'req-1', agent: 'web1', problem: 'the controller recorded ok on web1 for request req-1, but web1\'s log has 0 executions of it'},
		],
	},
	{
		title: 'an execution the controller never requested',
		build() {
			const {controller, web2} = consistent();
			const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1'}, finish('req-1'), finish('req-9')]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [{requestId: 'req-9', agent: 'web1', problem: 'web1 ran request req-9, which the controller never requested'}],
	},
	{
		title: 'an execution on an agent the request did not target (a replay to another host)',
		build() {
			const {controller, web1, web2} = consistent();
			const web3 = chain('log-web3', 'agent', [finish('req-1')]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}, {agent: 'web3', records: web3}]};
		},
		problems: [{requestId: 'req-1', agent: 'web3', problem: 'web3 ran request req-1, which the controller did not send to web3'}],
	},
	{
		title: 'the same request executed twice on one agent',
		build() {
			const {web2} = consistent();
			const web1 = chain('log-web1', 'agent', [finish('req-1'), finish('req-1')]);
			const controller = chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web1', 'ok'), outcome('req-1', 'web2', 'ok', witness(web2, 2))]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [{requestId: 'req-1', agent: 'web1', problem: 'the controller recorded ok on web1 for request req-1, but web1\'s log has 2 executions of it'}],
	},
	{
		title: 'different argument hashes',
		build() {
			const {controller, web2} = consistent();
			const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1'}, finish('req-1', 'ok', argsHash(['--lines', '99999']))]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		// The controller witnessed web1's genuine head: a different log shows there too.
		problems: records => [
			{requestId: 'req-1', agent: 'web1', problem: 'request req-1: the argument hash differs between the controller and web1'},
			{requestId: 'req-1', agent: 'web1', problem: `the controller witnessed web1's log at 2/${(records[1]!['agentHead'] as ChainHead).hash.slice(0, 12)}…, which web1's log does not contain (cut off or rewritten)`},
		],
	},
	{
		title: 'different statuses',
		build() {
			const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1'}, finish('req-1', 'failed')]);
			const web2 = chain('log-web2', 'agent', [finish('req-1')]);
			return {controller: chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web1', 'ok', witness(web1, 2)), outcome('req-1', 'web2', 'ok', witness(web2, 1))]), agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [{requestId: 'req-1', agent: 'web1', problem: 'request req-1: the controller recorded ok, web1 recorded failed'}],
	},
	{
		title: 'the controller says denied, the agent says it ran',
		build() {
			const web1 = chain('log-web1', 'agent', [finish('req-1')]);
			return {controller: chain('log-controller', 'controller', [request('req-1', ['web1']), outcome('req-1', 'web1', 'denied', witness(web1, 1))]), agents: [{agent: 'web1', records: web1}]};
		},
		problems: [{requestId: 'req-1', agent: 'web1', problem: 'request req-1: the controller recorded denied, web1 recorded ok'}],
	},
	{
		title: 'unreachable on the controller, nothing on the agent: no execution expected',
		build() {
			return {controller: chain('log-controller', 'controller', [request('req-1', ['web1']), outcome('req-1', 'web1', 'unreachable')]), agents: [{agent: 'web1', records: []}]};
		},
		problems: [],
	},
	{
		title: 'a head of the agent\'s log that the controller witnessed is absent from it',
		build() {
			const {web1, web2} = consistent();
			const forged = {log: 'log-web1', seq: 2, hash: 'f'.repeat(64)};
			return {controller: chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web1', 'ok', forged), outcome('req-1', 'web2', 'ok', witness(web2, 2))]), agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [{requestId: 'req-1', agent: 'web1', problem: 'the controller witnessed web1\'s log at 2/ffffffffffff…, which web1\'s log does not contain (cut off or rewritten)'}],
	},
	{
		title: 'a head of the controller\'s log that the agent witnessed is absent from it',
		build() {
			const {web2} = consistent();
			const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1', controllerHead: {log: 'log-controller', seq: 7, hash: 'e'.repeat(64)}}, finish('req-1')]);
			const controller = chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web1', 'ok', witness(web1, 2)), outcome('req-1', 'web2', 'ok', witness(web2, 2))]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: [{requestId: 'req-1', agent: 'web1', problem: 'web1 recorded controller head 7/eeeeeeeeeeee…, which the controller\'s log does not contain'}],
	},
	{
		title: 'a head of the controller\'s log from another log id',
		build() {
			const {web2} = consistent();
			const controller = chain('log-controller', 'controller', [request('req-1'), outcome('req-1', 'web2', 'ok', witness(web2, 2))]);
			const web1 = chain('log-web1', 'agent', [{event: 'run.received', requestId: 'req-1', controllerHead: {...witness(controller, 1), log: 'log-other'}}]);
			return {controller, agents: [{agent: 'web1', records: web1}, {agent: 'web2', records: web2}]};
		},
		problems: records => [{requestId: 'req-1', agent: 'web1', problem: `web1 recorded controller head 1/${records[0]!.hash.slice(0, 12)}…, which the controller's log does not contain`}],
	},
];

for (const row of rows) {
	test(`crossVerify: ${row.title}`, t => {
		const {controller, agents} = row.build();
		t.deepEqual(crossVerify(controller, agents), typeof row.problems === 'function' ? row.problems(controller) : row.problems);
	});
}
