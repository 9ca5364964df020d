/**
 * The agent connection's rules as a table: a sequence of frames on one connection, and what the
 * machine says to each (the act, or the exact refusal), and the phase it ends in. The socket
 * tests (test/integration) check the same rules over real TLS for a few of these rows.
 */
import test from 'ava';
import {nextFrame, openConnection, type ConnectionFacts, type ConnectionState} from '../../agent/connection-rules.js';
import type {RequestFrame} from '../../source/protocol/frames.js';

type Step = {frame: string; keepOpen?: boolean; facts?: Partial<ConnectionFacts>};
const frame = (step: Step): RequestFrame => {
	const [type, id = 'r1'] = step.frame.split(':');
	return {v: 1, type, id, msg: `m-${step.frame}`, ts: 0, caller: 'alice', ...(step.keepOpen ? {keepOpen: true} : {})} as unknown as RequestFrame;
};

const facts: ConnectionFacts = {serial: '0A', pinned: true, runGoing: false};
const ok = (act: string) => act;
const refused = (message: string, code = 'malformed') => `refuse ${code}: ${message}`;

const cases: Array<{title: string; steps: Step[]; says: string[]; phase: ConnectionState['phase']}> = [
	{title: 'one description, then the connection ends', steps: [{frame: 'describe'}], says: [ok('describe')], phase: 'open'},
	{title: 'a description kept open for the run, then the run', steps: [{frame: 'describe', keepOpen: true}, {frame: 'run'}], says: [ok('describe'), ok('run')], phase: 'running'},
	{title: 'after a kept-open description, a second description is refused', steps: [{frame: 'describe', keepOpen: true}, {frame: 'describe'}], says: [ok('describe'), refused('after a description, a connection carries one run and nothing else')], phase: 'described'},
	{title: 'after a kept-open description, a cancel is refused', steps: [{frame: 'describe', keepOpen: true}, {frame: 'cancel:r9'}], says: [ok('describe'), refused('after a description, a connection carries one run and nothing else')], phase: 'described'},
	{title: 'after a kept-open description, a certificate frame is refused', steps: [{frame: 'describe', keepOpen: true}, {frame: 'renew'}], says: [ok('describe'), refused('after a description, a connection carries one run and nothing else')], phase: 'described'},
	{title: 'after a kept-open description, a run whose serial was retired since is refused as unpinned', steps: [{frame: 'describe', keepOpen: true}, {frame: 'run', facts: {pinned: false}}], says: [ok('describe'), refused('refused: controller certificate serial 0A is not the pinned one', 'unpinned')], phase: 'described'},
	{title: 'a run without a description is not checked for pins again (the handshake did)', steps: [{frame: 'run', facts: {pinned: false}}], says: [ok('run')], phase: 'running'},
	{title: 'one run per connection', steps: [{frame: 'run'}, {frame: 'run:r2'}], says: [ok('run'), refused('one run per connection')], phase: 'running'},
	{title: 'a run whose id is running on another connection is refused', steps: [{frame: 'run', facts: {runGoing: true}}], says: [refused('a run with request id r1 is already in progress')], phase: 'open'},
	{title: 'a cancel of its own run keeps the connection (the result follows)', steps: [{frame: 'run'}, {frame: 'cancel:r1'}], says: [ok('run'), ok('cancel quietly')], phase: 'running'},
	{title: 'a cancel of another run on a running connection is answered', steps: [{frame: 'run'}, {frame: 'cancel:r2'}], says: [ok('run'), ok('cancel and answer')], phase: 'running'},
	{title: 'a cancel alone is answered', steps: [{frame: 'cancel:r7'}], says: [ok('cancel and answer')], phase: 'open'},
	{title: 'a description after a run is refused', steps: [{frame: 'run'}, {frame: 'describe'}], says: [ok('run'), refused('a description cannot share a connection with a run or certificate requests')], phase: 'running'},
	{title: 'certificate frames after a run are refused', steps: [{frame: 'run'}, {frame: 'pin'}], says: [ok('run'), refused('certificate requests cannot share a connection with a run')], phase: 'running'},
	{title: 'renew then certificate, in order', steps: [{frame: 'renew'}, {frame: 'certificate'}], says: [ok('certificate'), ok('certificate')], phase: 'certificates'},
	{title: 'a run after certificate frames is refused', steps: [{frame: 'unpair'}, {frame: 'run'}], says: [ok('certificate'), refused('a run cannot share a connection with certificate requests')], phase: 'certificates'},
	{title: 'a description after certificate frames is refused', steps: [{frame: 'pin'}, {frame: 'describe', keepOpen: true}], says: [ok('certificate'), refused('a description cannot share a connection with a run or certificate requests')], phase: 'certificates'},
	{title: 'a status question over direct TLS is refused (the run\'s own connection carries its result)', steps: [{frame: 'status'}], says: [refused('status is asked over the relay only: over direct TLS the run\'s own connection carries its result', 'unknown-type')], phase: 'open'},
	{title: 'a cancel among certificate frames is answered', steps: [{frame: 'renew'}, {frame: 'cancel:r3'}], says: [ok('certificate'), ok('cancel and answer')], phase: 'certificates'},
];

for (const c of cases) {
	test(c.title, t => {
		let state: ConnectionState = openConnection;
		const says: string[] = [];
		for (const step of c.steps) {
			const next = nextFrame(state, frame(step), {...facts, ...step.facts});
			const {verdict} = next;
			says.push(verdict.act === 'refuse' ? refused(verdict.message, verdict.code) : verdict.act === 'cancel' ? (verdict.answer ? 'cancel and answer' : 'cancel quietly') : verdict.act);
			state = next.state;
		}

		t.deepEqual(says, c.says);
		t.is(state.phase, c.phase);
	});
}

test('a refusal leaves the state as it was (the connection ends)', t => {
	const running: ConnectionState = {phase: 'running', runId: 'r1'};
	t.is(nextFrame(running, frame({frame: 'run:r2'}), facts).state, running);
});
