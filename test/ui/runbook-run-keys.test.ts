/** The runbook screen's keys while a runbook runs, with a context that records what it was asked: a table of cases. */
import test from 'ava';
import type {Key} from 'ink';
import type {PlanDocument} from '../../source/runbooks/plan-document.js';
import type {RunbookEntry} from '../../source/ui/core.js';
import {cancelRunbookQuestion, runbookRunKey} from '../../source/ui/screens/runbooks/runbook-run-keys.js';
import type {RunbooksAction, RunningStep} from '../../source/ui/screens/runbooks/use-runbooks-state.js';

const none: Key = {
	upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
	return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
	super: false, hyper: false, capsLock: false, numLock: false,
};

function press(state: RunningStep, input: string, key: Partial<Key> = {}): string[] {
	const said: string[] = [];
	runbookRunKey(state, input, {...none, ...key}, {
		dispatch(action: RunbooksAction) {
			said.push(action.type === 'notice' || action.type === 'answered' ? `${action.type}:${(action.type === 'notice' ? action.text : action.notice) ?? ''}` : action.type);
		},
		expected: () => '3',
		answer: yes => said.push(`answer:${yes ? 'yes' : 'no'}`),
		cancel: () => said.push('cancel'),
		leave: () => said.push('leave'),
	});
	return said;
}

const running: RunningStep = {step: 'running', entry: {name: 'drain'} as RunbookEntry, plan: {} as PlanDocument, steps: [], startedAt: 0};
const confirming: RunningStep = {...running, question: {kind: 'confirm', text: 'restart on 3 hosts?', typed: '3'}};
const cases: Array<[string, RunningStep, string, Partial<Key>, string[]]> = [
	['the count typed right: Enter confirms', confirming, '', {return: true}, ['answer:yes', 'answered:Confirmed: the step runs.']],
	['the count typed wrong: Enter says what to type', {...confirming, question: {kind: 'confirm', text: '?', typed: '2'}}, '', {return: true}, ['notice:type 3 to confirm, or Esc for no']],
	['Esc on the question: no', confirming, '', {escape: true}, ['answer:no', 'answered:Not confirmed: the step does not run.']],
	['q on the question is typed, not a way out', confirming, 'q', {}, ['type']],
	['the canary: y goes on', {...running, question: {kind: 'canary', step: 'restart', hosts: 1}}, 'y', {}, ['answer:yes', 'answered:restart: going on with its other hosts.']],
	['the canary: n stops', {...running, question: {kind: 'canary', step: 'restart', hosts: 1}}, 'n', {}, ['answer:no', 'answered:restart: stopped after the canary.']],
	['c asks first', running, 'c', {}, [`notice:${cancelRunbookQuestion}`]],
	['c again cancels, and a question waiting is answered no', {...running, notice: cancelRunbookQuestion}, 'c', {}, ['cancel', 'answer:no', 'answered:Cancelling: the step running is stopped on every host; nothing after it runs.']],
	['another key takes the question back', {...running, notice: cancelRunbookQuestion}, 'j', {}, ['notice:', 'move']],
	['← a host to the left', running, '', {leftArrow: true}, ['host']],
	['Esc while running stays, and says why', running, '', {escape: true}, ['notice:The runbook is running: c cancels it; Esc goes back once it has ended.']],
	['Esc once ended goes back', {...running, end: {status: 'ok'}}, '', {escape: true}, ['leave']],
	['c once ended does nothing', {...running, end: {status: 'ok'}}, 'c', {}, []],
];

for (const [title, state, input, key, expected] of cases) {
	test(`runbook running: ${title}`, t => {
		t.deepEqual(press(state, input, key), expected);
	});
}
