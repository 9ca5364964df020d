import test from 'ava';
import {nextInFlow, type FlowDecision} from '../../source/runbooks/flow.js';
import type {Runbook} from '../../source/runbooks/model.js';
import {resumePoint, type ResumePoint} from '../../source/runbooks/resume.js';
import type {StepOutcome, StepStatus} from '../../source/runbooks/step-outcome.js';
import {runbookOf} from './fixtures.js';

const runbook = (text: string): Runbook => runbookOf(text);

const outcome = (status: StepStatus): StepOutcome => ({
	status,
	counts: {},
	hosts: {ok: [], failed: []},
	...(status === 'failed' ? {reason: '2 of 3 hosts failed, over maxFailures 0'} : {}),
	...(status === 'waiting' ? {approval: {id: 'ap1', needs: '1 of: token:lead-*', expiresAt: '2026-01-01T00:30:00.000Z'}} : {}),
});
const waitingFor = (steps: string[]) => steps.map(step => ({step, reason: 'the runbook waits for approval'}));

/** `a:ok b:failed` → outcomes. */
function outcomes(text: string): Map<string, StepOutcome> {
	return new Map(text.split(' ').filter(Boolean).map(pair => {
		const [name, status] = pair.split(':') as [string, StepStatus];
		return [name, outcome(status)];
	}));
}

const sequence = runbook(`steps:
  - {name: a, script: s, on: all}
  - {name: b, script: s, on: all, onFailure: continue}
  - {name: c, script: s, on: all}
  - {name: d, script: s, on: all, when: always}
  - {name: e, script: s, on: all}
`);

const withGroup = runbook(`steps:
  - {name: a, script: s, on: all}
  - parallel:
      - {name: p, script: s, on: all}
      - {name: q, script: s, on: all, onFailure: continue}
  - {name: c, script: s, on: all}
  - parallel:
      - {name: x, script: s, on: all}
      - {name: y, script: s, on: all}
    when: always
`);

const withHandlers = runbook(`steps:
  - {name: a, script: s, on: all, onFailure: run undo}
  - {name: b, script: s, on: all, onFailure: run undo}
  - {name: c, script: s, on: all, when: always}
  - {name: undo, script: s, on: {failedIn: a}, onFailure: run page}
  - {name: page, script: s, on: ops1}
`);

const rows: Array<{title: string; runbook: Runbook; done: string; cancelled?: boolean; from?: number; decision: FlowDecision}> = [
	{title: 'sequence: the first step first', runbook: sequence, done: '', decision: {type: 'run', steps: ['a']}},
	{title: 'sequence: the next step after an ok one', runbook: sequence, done: 'a:ok', decision: {type: 'run', steps: ['b']}},
	{title: 'a step with no host to run on counts as ok', runbook: sequence, done: 'a:skipped', decision: {type: 'run', steps: ['b']}},
	{title: 'onFailure: continue goes on', runbook: sequence, done: 'a:ok b:failed', decision: {type: 'run', steps: ['c']}},
	{title: 'onFailure: stop (the default) skips previous.ok steps, runs when: always', runbook: sequence, done: 'a:ok b:ok c:failed', decision: {type: 'run', steps: ['d']}},
	{
		title: 'after the always step, the runbook ends failed, naming what stopped it and what did not run',
		runbook: sequence,
		done: 'a:ok b:ok c:failed d:ok',
		decision: {type: 'done', status: 'failed', reason: 'step c failed (2 of 3 hosts failed, over maxFailures 0)', notRun: [{step: 'e', reason: 'step c failed (2 of 3 hosts failed, over maxFailures 0)'}]},
	},
	{title: 'a refused step stops the runbook too', runbook: sequence, done: 'a:error', decision: {type: 'run', steps: ['d']}},
	{title: 'all ok: done ok', runbook: sequence, done: 'a:ok b:ok c:ok d:ok e:ok', decision: {type: 'done', status: 'ok', notRun: []}},
	{title: 'a continued failure leaves the runbook ok', runbook: sequence, done: 'a:ok b:failed c:ok d:ok e:ok', decision: {type: 'done', status: 'ok', notRun: []}},
	{title: 'a cancelled step ends the runbook at once, always steps included', runbook: sequence, done: 'a:ok b:cancelled', decision: {type: 'done', status: 'cancelled', reason: 'the runbook was cancelled', notRun: ['c', 'd', 'e'].map(step => ({step, reason: 'the runbook was cancelled'}))}},
	{title: 'after a cancel nothing more starts', runbook: sequence, done: 'a:ok', cancelled: true, decision: {type: 'done', status: 'cancelled', reason: 'the runbook was cancelled', notRun: ['b', 'c', 'd', 'e'].map(step => ({step, reason: 'the runbook was cancelled'}))}},
	{title: 'parallel: the group\'s steps start at once', runbook: withGroup, done: 'a:ok', decision: {type: 'run', steps: ['p', 'q']}},
	{title: 'parallel: a group resumed part-way runs only what is missing', runbook: withGroup, done: 'a:ok p:ok', decision: {type: 'run', steps: ['q']}},
	{title: 'parallel: a continued failure in the group goes on', runbook: withGroup, done: 'a:ok p:ok q:failed', decision: {type: 'run', steps: ['c']}},
	{
		title: 'parallel: a stopping failure in the group skips the next step, runs the always group',
		runbook: withGroup,
		done: 'a:ok p:failed q:ok',
		decision: {type: 'run', steps: ['x', 'y']},
	},
	{title: 'handler: a failure jumps to its handler', runbook: withHandlers, done: 'a:failed', decision: {type: 'run', steps: ['undo']}},
	{title: 'handler: a failed handler jumps to its own handler', runbook: withHandlers, done: 'a:failed undo:failed', decision: {type: 'run', steps: ['page']}},
	{title: 'handler: then the runbook is stopped; always steps still run', runbook: withHandlers, done: 'a:failed undo:failed page:ok', decision: {type: 'run', steps: ['c']}},
	{
		title: 'handler: the chain is named in the reason',
		runbook: withHandlers,
		done: 'a:failed undo:failed page:ok c:ok',
		decision: {type: 'done', status: 'failed', reason: 'step a failed (2 of 3 hosts failed, over maxFailures 0); undo, then page ran', notRun: [{step: 'b', reason: 'step a failed (2 of 3 hosts failed, over maxFailures 0); undo, then page ran'}]},
	},
	{title: 'handler: an ok handler ends its chain', runbook: withHandlers, done: 'a:ok b:failed undo:ok', decision: {type: 'run', steps: ['c']}},
	{title: 'handler: not run when nothing fails', runbook: withHandlers, done: 'a:ok b:ok c:ok', decision: {type: 'done', status: 'ok', notRun: []}},
	{title: 'handler: a cancel during the handler ends the runbook', runbook: withHandlers, done: 'a:failed undo:cancelled', decision: {type: 'done', status: 'cancelled', reason: 'the runbook was cancelled', notRun: ['b', 'c'].map(step => ({step, reason: 'the runbook was cancelled'}))}},
	{title: 'waiting for approval (--no-wait): the runbook pauses, always steps included', runbook: sequence, done: 'a:ok b:waiting', decision: {type: 'done', status: 'waiting', reason: 'step b waits for approval (request ap1)', notRun: waitingFor(['c', 'd', 'e'])}},
	{title: 'waiting, after a stopping failure: the always step that waits pauses the runbook', runbook: sequence, done: 'a:ok b:ok c:failed d:waiting', decision: {type: 'done', status: 'waiting', reason: 'step d waits for approval (request ap1)', notRun: waitingFor(['e'])}},
	{title: 'parallel: a waiting step pauses the runbook once its group is over', runbook: withGroup, done: 'a:ok p:waiting', decision: {type: 'run', steps: ['q']}},
	{title: 'parallel: waiting beats a failure in the same group (resume runs both again)', runbook: withGroup, done: 'a:ok p:waiting q:failed', decision: {type: 'done', status: 'waiting', reason: 'step p waits for approval (request ap1)', notRun: waitingFor(['c', 'x', 'y'])}},
	{title: 'parallel: a cancel beats waiting', runbook: withGroup, done: 'a:ok p:waiting q:cancelled', decision: {type: 'done', status: 'cancelled', reason: 'the runbook was cancelled', notRun: ['c', 'x', 'y'].map(step => ({step, reason: 'the runbook was cancelled'}))}},
	{title: 'handler: a handler waiting for approval pauses the runbook', runbook: withHandlers, done: 'a:failed undo:waiting', decision: {type: 'done', status: 'waiting', reason: 'step undo waits for approval (request ap1)', notRun: waitingFor(['b', 'c'])}},
	{title: 'resumed: outcomes before the resume point are context, not replayed', runbook: sequence, done: 'a:failed b:ok c:failed', from: 2, decision: {type: 'run', steps: ['d']}},
	{title: 'resumed: a failed step at the resume point runs again', runbook: sequence, done: 'a:ok b:ok', from: 2, decision: {type: 'run', steps: ['c']}},
];

for (const row of rows) {
	test(`nextInFlow: ${row.title}`, t => {
		t.deepEqual(nextInFlow(row.runbook, {outcomes: outcomes(row.done), from: row.from ?? 0, cancelled: row.cancelled ?? false}), row.decision);
	});
}

const resumes: Array<{title: string; runbook: Runbook; done: string; from?: string; point: ResumePoint}> = [
	{title: 'the first step not finished ok', runbook: sequence, done: 'a:ok b:ok c:failed d:ok', point: {ok: true, from: 2, step: 'c', carried: ['a', 'b']}},
	{title: 'a step in flight (no outcome) is not finished', runbook: sequence, done: 'a:ok', point: {ok: true, from: 1, step: 'b', carried: ['a']}},
	{title: 'a continued failure is not finished ok either', runbook: sequence, done: 'a:ok b:failed c:ok', point: {ok: true, from: 1, step: 'b', carried: ['a']}},
	{title: 'a step waiting for approval is where a resume continues', runbook: sequence, done: 'a:ok b:waiting', point: {ok: true, from: 1, step: 'b', carried: ['a']}},
	{title: 'a group with a step waiting: its ok steps carry over', runbook: withGroup, done: 'a:ok p:waiting q:ok', point: {ok: true, from: 1, step: 'p', carried: ['a', 'q']}},
	{title: 'a step with no host to run on is finished', runbook: sequence, done: 'a:skipped b:ok', point: {ok: true, from: 2, step: 'c', carried: ['a', 'b']}},
	{title: 'a group part-way: its ok steps carry over', runbook: withGroup, done: 'a:ok p:ok q:failed', point: {ok: true, from: 1, step: 'q', carried: ['a', 'p']}},
	{title: 'handlers never carry over', runbook: withHandlers, done: 'a:failed undo:ok c:ok', point: {ok: true, from: 0, step: 'a', carried: []}},
	{title: '--from a later step keeps every outcome before it', runbook: sequence, done: 'a:ok b:failed c:failed', from: 'd', point: {ok: true, from: 3, step: 'd', carried: ['a', 'b', 'c']}},
	{title: '--from an ok step runs it again', runbook: sequence, done: 'a:ok b:ok c:ok d:ok e:ok', from: 'b', point: {ok: true, from: 1, step: 'b', carried: ['a']}},
	{title: '--from a step in a group runs the whole group', runbook: withGroup, done: 'a:ok p:ok q:ok c:failed', from: 'q', point: {ok: true, from: 1, step: 'q', carried: ['a']}},
	{title: 'nothing to resume', runbook: sequence, done: 'a:ok b:ok c:ok d:ok e:ok', point: {ok: false, reason: 'every step of that run finished ok: there is nothing to resume (name a step with --from to run again from it)'}},
	{title: '--from a handler', runbook: withHandlers, done: 'a:failed', from: 'undo', point: {ok: false, reason: '--from undo: that step is a handler (it runs after a failure); name a step of the sequence'}},
	{title: '--from no step', runbook: sequence, done: 'a:failed', from: 'z', point: {ok: false, reason: '--from z: runbook t has no such step (its steps: a, b, c, d, e)'}},
];

for (const row of resumes) {
	test(`resumePoint: ${row.title}`, t => {
		t.deepEqual(resumePoint(row.runbook, outcomes(row.done), row.from), row.point);
	});
}
