/** The run screen's keys, step by step, with a run control that records what it was asked: a table of cases. */
import test from 'ava';
import type {Key} from 'ink';
import type {RunEvent} from '../../source/run/events.js';
import {cancelQuestion, confirmRefusal, runKey} from '../../source/ui/screens/run/run-keys.js';
import type {ScriptChoice} from '../../source/ui/screens/run/script-choices.js';
import {reduceRunScreen, type ConfirmStep, type RunScreenAction, type RunScreenState} from '../../source/ui/screens/run/use-run-state.js';
import {agentRun} from './helpers/fake-core.js';

const none: Key = {
	upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
	return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
	super: false, hyper: false, capsLock: false, numLock: false,
};

/** What a key led to: the actions dispatched and the calls made, in order. */
function press(state: RunScreenState, input: string, key: Partial<Key> = {}, waitingApproval = false): string[] {
	const said: string[] = [];
	runKey(state, input, {...none, ...key}, {
		dispatch(action: RunScreenAction) {
			said.push(action.type === 'notice' ? `notice:${action.text ?? ''}` : action.type);
		},
		run: {
			start: () => said.push('start'),
			dryRun: () => said.push('dry-run'),
			cancel: () => said.push('cancel'),
			answerCanary: go => said.push(`canary:${go ? 'y' : 'n'}`),
			waitingApproval: () => waitingApproval,
		},
		onBack: () => said.push('back'),
		onAudit: requestId => said.push(`audit:${requestId}`),
		onOutput: agent => said.push(`output:${agent}`),
		page: 5,
	});
	return said;
}

const restart: ScriptChoice = {name: 'restart-app', description: 'Restart', agents: ['web1', 'web2'], confirm: true, maxTargets: 3};
const confirm: ConfirmStep = {step: 'confirm', choice: restart, args: [], targets: ['web1', 'web2'], typed: '', controls: {}};
const started = reduceRunScreen(confirm, {type: 'started', requestId: 'r1', at: 0});
const fold = (state: RunScreenState, events: RunEvent[]) => events.reduce((next, event) => reduceRunScreen(next, {type: 'event', event}), state);
const going = fold(started, [{type: 'run-started', requestId: 'r1', script: 'restart-app', args: [], targets: ['web1', 'web2']}, ...agentRun('web2', 'boom', {status: 'failed', exitCode: 1})]);
const ended = fold(going, [...agentRun('web1', 'fine', {status: 'ok', exitCode: 0}), {type: 'run-finished', requestId: 'r1'}]);

test('the confirmation: the count typed before Enter starts the run; too many targets never start it', t => {
	t.is(confirmRefusal(confirm), 'type 2, the number of targets, to confirm');
	t.is(confirmRefusal({...confirm, typed: '2'}), undefined);
	t.is(confirmRefusal({...confirm, typed: '4', targets: ['a', 'b', 'c', 'd']}), 'restart-app allows at most 3 targets (maxTargets in its allowlist entry); narrow the filter');
	t.deepEqual(press(confirm, '', {return: true}), ['confirm-refused']);
	t.deepEqual(press({...confirm, typed: '2'}, '', {return: true}), ['start']);
});

const cases: Array<[string, RunScreenState, string, Partial<Key>, string[]]> = [
	['pick: j moves', {step: 'pick', choices: [restart], cursor: 0, targets: []}, 'j', {}, ['move']],
	['pick: q goes back', {step: 'pick', choices: [restart], cursor: 0, targets: []}, 'q', {}, ['back']],
	['args: Enter checks what was typed', {step: 'args', choice: restart, text: '', targets: []}, '', {return: true}, ['args-accepted']],
	['args: q is typed, not a way out', {step: 'args', choice: restart, text: '', targets: []}, 'q', {}, ['type']],
	['confirm: d asks a dry run', confirm, 'd', {}, ['dry-run']],
	['confirm: b opens a run control', confirm, 'b', {}, ['edit-control']],
	['confirm: Esc goes back to the screen before', confirm, '', {escape: true}, ['back']],
	['confirm: Esc on a rerun\'s goes back to its results', {...confirm, previous: ended as never}, '', {escape: true}, ['back']],
	['a control typed into: Enter sets it', {...confirm, editing: {field: 'batch', text: '2'}}, '', {return: true}, ['set-control']],
	['running: c asks first', going, 'c', {}, [`notice:${cancelQuestion}`]],
	['running: c again cancels', {...going, notice: cancelQuestion} as RunScreenState, 'c', {}, ['cancel', 'notice:Cancelling: hosts still running are stopped.']],
	['running: another key takes the question back', {...going, notice: cancelQuestion} as RunScreenState, 'j', {}, ['notice:', 'move']],
	['running: Esc does not leave a run going', going, '', {escape: true}, []],
	['running: Esc while waiting for approval stops waiting', going, '', {escape: true}, ['cancel']],
	['running: f reruns only once ended', going, 'f', {}, []],
	['running: Enter opens the first host by outcome (the failed one)', going, '', {return: true}, ['output:web2']],
	['running: PgDn moves a page', going, '', {pageDown: true}, ['move']],
	['ended: f reruns what was not ok', ended, 'f', {}, ['rerun']],
	['ended: a shows its audit records', ended, 'a', {}, ['audit:r1']],
	['ended: q goes back', ended, 'q', {}, ['back']],
	['ended: c does nothing', ended, 'c', {}, []],
	['ended: Enter opens the selected host', {...ended, selected: 'web1'} as RunScreenState, '', {return: true}, ['output:web1']],
];

for (const [title, state, input, key, expected] of cases) {
	test(`keys: ${title}`, t => {
		t.deepEqual(press(state, input, key, title.includes('waiting for approval')), expected);
	});
}

test('the canary question: y or n answers it', t => {
	const asked = reduceRunScreen(going, {type: 'canary-asked', hosts: 1, rest: 1});
	t.deepEqual(press(asked, 'y'), ['canary:y', 'canary-answered']);
	t.deepEqual(press(asked, 'n'), ['canary:n', 'canary-answered']);
	t.deepEqual(press({...asked, notice: cancelQuestion} as RunScreenState, 'c'), ['cancel', 'canary:n', 'canary-answered', 'notice:Cancelling: hosts still running are stopped.']);
});

const noticeOf = (state: RunScreenState) => (state.step === 'running' ? state.notice : undefined);

test('"Cancelling" is said until the run has ended, then the summary says what was cancelled', t => {
	const cancelling = reduceRunScreen(going, {type: 'notice', text: 'Cancelling: hosts still running are stopped.'});
	t.is(noticeOf(reduceRunScreen(cancelling, {type: 'event', event: agentRun('web1', '', {status: 'cancelled'})[2]!})), 'Cancelling: hosts still running are stopped.');
	t.is(noticeOf(reduceRunScreen(cancelling, {type: 'event', event: {type: 'run-finished', requestId: 'r1'}})), undefined);
	const other = reduceRunScreen(going, {type: 'notice', text: 'Going on with the other 1.'});
	t.is(noticeOf(reduceRunScreen(other, {type: 'event', event: {type: 'run-finished', requestId: 'r1'}})), 'Going on with the other 1.');
});
