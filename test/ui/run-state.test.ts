import test from 'ava';
import type {RunEvent} from '../../source/run/events.js';
import {parseArgsInput, scriptChoices, type ScriptChoice} from '../../source/ui/screens/run/script-choices.js';
import {initialRunScreen, reduceRunScreen, type RunScreenAction, type RunScreenState} from '../../source/ui/screens/run/use-run-state.js';
import {checkTypedArgs} from '../../source/ui/screens/run/typed-args.js';
import {agentRun, sampleScripts, scriptViews} from './helpers/fake-core.js';

const target = (name: string, status: string, scripts = sampleScripts) => ({name, status, scripts: scriptViews(scripts)});

test('script choices: only reachable targets count, most widely offered first, then by name', t => {
	const choices = scriptChoices([
		target('web1', 'reachable'),
		target('web2', 'reachable', [sampleScripts[0]!, {name: 'only-here', description: 'One host has it', timeoutSeconds: 5}]),
		target('db1', 'unreachable'),
		target('db2', 'checking'),
	]);
	t.deepEqual(choices.map(choice => [choice.name, choice.agents]), [
		['check-service', ['web1', 'web2']],
		['deploy', ['web1']],
		['only-here', ['web2']],
		['restart-app', ['web1']],
	]);
	t.deepEqual(choices[1]!.schema, sampleScripts[1]!.args);
	t.false('schema' in choices[0]!);
});

test('script choices: confirmation if any target asks, the smallest maxTargets of all', t => {
	const restart = (confirm: boolean | undefined, maxTargets: number | undefined) => [{name: 'restart-app', description: 'Restart', timeoutSeconds: 5, ...(confirm === undefined ? {} : {confirm}), ...(maxTargets === undefined ? {} : {maxTargets})}];
	const [choice] = scriptChoices([target('a', 'reachable', restart(undefined, 5)), target('b', 'reachable', restart(true, 2)), target('c', 'reachable', restart(false, undefined))]);
	t.true(choice!.confirm);
	t.is(choice!.maxTargets, 2);
	t.deepEqual(scriptChoices([]), []);
});

test('script choices: a schema the core refuses (as the agents view says) marks the script, and the pick list says why', t => {
	const [choice] = scriptChoices([target('a', 'reachable', [{name: 'odd', description: 'Odd', timeoutSeconds: 5, args: {$id: 'https://example.com/x'}}])]);
	t.regex(choice!.problem ?? '', /\$id/);
});

const parses: Array<[string, ReturnType<typeof parseArgsInput>]> = [
	['', {ok: true, args: []}],
	['   ', {ok: true, args: []}],
	['blue', {ok: true, args: ['blue']}],
	['  a   b  ', {ok: true, args: ['a', 'b']}],
	['"a b" \'c d\' e', {ok: true, args: ['a b', 'c d', 'e']}],
	['""', {ok: true, args: ['']}],
	['say"hi there"', {ok: true, args: ['sayhi there']}],
	['$HOME `id` ; rm -rf / *', {ok: true, args: ['$HOME', '`id`', ';', 'rm', '-rf', '/', '*']}],
	['["a b", "--force"]', {ok: true, args: ['a b', '--force']}],
	['[]', {ok: true, args: []}],
	['[1, 2]', {ok: false, reason: 'a JSON array of strings was expected, like ["a b", "--force"]'}],
	['[oops', {ok: false, reason: 'a JSON array of strings was expected, like ["a b", "--force"]'}],
	['"open', {ok: false, reason: 'a " quote is not closed'}],
	['it\'s', {ok: false, reason: 'a \' quote is not closed'}],
];

for (const [text, expected] of parses) {
	test(`arguments typed as ${JSON.stringify(text)}`, t => {
		t.deepEqual(parseArgsInput(text), expected);
	});
}

const deploySchema = sampleScripts[1]!.args;
const checks: Array<[string, string, unknown, RunScreenAction]> = [
	['accepted without a schema', 'a "b c"', undefined, {type: 'args-accepted', args: ['a', 'b c']}],
	['accepted by the schema', 'green', deploySchema, {type: 'args-accepted', args: ['green']}],
	['a value the schema does not allow', 'purple', deploySchema, {type: 'args-refused', reason: 'argument #1 must be equal to one of the allowed values'}],
	['too few for the schema', '', deploySchema, {type: 'args-refused', reason: 'the arguments must NOT have fewer than 1 items'}],
	['too many for the schema', 'blue green', deploySchema, {type: 'args-refused', reason: 'the arguments must NOT have more than 1 items'}],
	['a quote left open, before the schema', '"green', deploySchema, {type: 'args-refused', reason: 'a " quote is not closed'}],
	['a NUL byte', '["a\\u0000b"]', undefined, {type: 'args-refused', reason: 'argument 1 contains a NUL byte'}],
	['a schema that does not compile', 'x', {type: 'no-such-type'}, {type: 'args-refused', reason: 'the argument schema is not valid JSON Schema 2020-12: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf'}],
	['a remote $ref', 'x', {$ref: 'https://example.com/schema.json'}, {type: 'args-refused', reason: 'the argument schema may only use local "$ref"s (starting with #)'}],
];

for (const [title, text, schema, expected] of checks) {
	test(`typed arguments are checked before anything is sent: ${title}`, t => {
		t.deepEqual(checkTypedArgs(text, schema), expected);
	});
}

test('typed arguments: more than the limit are refused with the count', t => {
	const action = checkTypedArgs(Array.from({length: 300}, () => 'x').join(' '), undefined);
	t.is(action.type, 'args-refused');
	t.regex((action as {reason: string}).reason, /^300 arguments given; the limit is \d+$/);
});

const choices: ScriptChoice[] = scriptChoices([target('web1', 'reachable'), target('web2', 'reachable')]);
const fold = (actions: RunScreenAction[], state: RunScreenState = initialRunScreen({choices, targets: ['web1', 'web2']})) => actions.reduce(reduceRunScreen, state);

test('run steps: pick (cursor clamped), then arguments', t => {
	let state = fold([{type: 'move', delta: -1}]);
	t.like(state, {step: 'pick', cursor: 0});
	state = fold([{type: 'move', delta: 5}], state);
	t.like(state, {step: 'pick', cursor: 2});
	state = fold([{type: 'move', delta: -1}, {type: 'type', text: 'ignored'}, {type: 'pick'}], state);
	t.deepEqual(state, {step: 'args', choice: choices[1]!, text: '', targets: ['web1', 'web2']});
});

test('run steps: with nothing to pick, Enter stays', t => {
	const empty = initialRunScreen({choices: [], targets: []});
	t.is(reduceRunScreen(empty, {type: 'pick'}), empty);
});

test('run steps: arguments are typed, erased, refused with a reason, then accepted', t => {
	let state = fold([{type: 'pick'}, {type: 'type', text: 'gre'}, {type: 'type', text: 'enx'}, {type: 'erase'}]);
	t.like(state, {step: 'args', text: 'green'});
	state = fold([{type: 'args-refused', reason: 'no'}], state);
	t.like(state, {step: 'args', text: 'green', error: 'no'});
	state = fold([{type: 'type', text: ' '}], state);
	t.like(state, {step: 'args', error: undefined}, 'typing clears the error');
	state = fold([{type: 'args-accepted', args: ['green']}], state);
	t.deepEqual(state, {step: 'confirm', choice: choices[0]!, args: ['green'], targets: ['web1', 'web2'], typed: '', controls: {}});
});

test('run steps: the confirmation takes digits only, and a refusal says why', t => {
	let state = fold([{type: 'pick'}, {type: 'args-accepted', args: []}, {type: 'type', text: 'x'}, {type: 'type', text: '2'}, {type: 'type', text: '0'}, {type: 'erase'}]);
	t.like(state, {step: 'confirm', typed: '2'});
	state = fold([{type: 'confirm-refused', reason: 'type 2'}], state);
	t.like(state, {step: 'confirm', error: 'type 2'});
	state = fold([{type: 'started', requestId: 'r-1', at: 0}], state);
	t.like(state, {step: 'running', requestId: 'r-1', startedAt: 0, run: {order: [], finished: false}});
});

const events = (...lists: RunEvent[][]): RunEvent[] => lists.flat();

test('run steps: running folds the dispatcher\'s events; f re-runs the hosts that were not ok, once finished', t => {
	let state = fold([{type: 'pick'}, {type: 'args-accepted', args: ['a']}, {type: 'started', requestId: 'r-1', at: 0}]);
	const started: RunEvent = {type: 'run-started', requestId: 'r-1', script: 'check-service', args: ['a'], targets: ['web1', 'web2']};
	state = fold([started, ...agentRun('web1', 'fine\n', {status: 'ok', exitCode: 0})].map(event => ({type: 'event', event})), state);
	t.like(state, {step: 'running', run: {finished: false, agents: {web1: {phase: 'ok', output: 'fine\n'}, web2: {phase: 'queued'}}}});
	t.is(reduceRunScreen(state, {type: 'rerun', targets: ['web2']}), state, 'not before the run has finished');

	state = fold(events(agentRun('web2', '', {status: 'failed', exitCode: 3}), [{type: 'run-finished', requestId: 'r-1'}]).map(event => ({type: 'event', event})), state);
	// By outcome: web2 (failed) before web1 (ok); moves stop at the ends.
	state = fold([{type: 'move', delta: 1}, {type: 'move', delta: 1}], state);
	t.like(state, {step: 'running', selected: 'web1', run: {finished: true, agents: {web2: {phase: 'failed'}}}});
	t.like(fold([{type: 'move', delta: -Infinity}], state), {selected: 'web2'});
	t.like(reduceRunScreen(state, {type: 'rerun', targets: []}), {step: 'running', notice: 'Every host was ok: nothing to rerun.'}, 'nothing to re-run: says so');

	const again = reduceRunScreen(state, {type: 'rerun', targets: ['web2']});
	t.deepEqual(again, {step: 'confirm', choice: choices[0]!, args: ['a'], targets: ['web2'], typed: '', previous: {...state, notice: undefined}, controls: {}});
	t.is(reduceRunScreen(again, {type: 'back'}).step, 'running', 'Esc on the rerun\'s confirmation: back to the results');
	t.deepEqual(reduceRunScreen(again, {type: 'back'}), {...state, notice: undefined});
});

test('run steps: actions of another step change nothing', t => {
	const pick = initialRunScreen({choices, targets: ['web1', 'web2']});
	for (const action of [{type: 'erase'}, {type: 'args-accepted', args: []}, {type: 'started', requestId: 'x', at: 0}, {type: 'rerun', targets: ['a']}] as RunScreenAction[]) {
		t.is(reduceRunScreen(pick, action), pick);
	}

	const args = fold([{type: 'pick'}]);
	t.is(reduceRunScreen(args, {type: 'started', requestId: 'x', at: 0}), args);
	t.is(reduceRunScreen(args, {type: 'move', delta: 1}), args);
});

test('run controls: b m c t edit a control on the confirmation; Enter sets it or names what is wrong; Esc keeps it; a set control makes a dry run stale', t => {
	let state = fold([{type: 'pick'}, {type: 'args-accepted', args: []}, {type: 'dry-run-asked', id: 1}]);
	t.like(state, {step: 'confirm', dryRun: {status: 'asking', id: 1}});
	state = fold([{type: 'edit-control', field: 'batch'}, {type: 'type', text: 'x2'}, {type: 'type', text: '5%'}], state);
	t.like(state, {step: 'confirm', editing: {field: 'batch', text: '25%'}, typed: ''}, 'digits go to the control, not the count; letters are dropped');
	state = fold([{type: 'set-control'}], state);
	t.like(state, {step: 'confirm', controls: {batch: {value: 25, percent: true}}, editing: undefined, dryRun: undefined});
	state = fold([{type: 'edit-control', field: 'canary'}, {type: 'type', text: '0'}, {type: 'set-control'}], state);
	t.like(state, {editing: {field: 'canary', text: '0', error: '--canary must be a whole number of hosts, at least 1; got "0"'}});
	state = fold([{type: 'keep-control'}], state);
	t.deepEqual((state as {controls: unknown}).controls, {batch: {value: 25, percent: true}}, 'Esc kept the controls as they were');
	state = fold([{type: 'edit-control', field: 'batch'}], state);
	t.like(state, {editing: {text: '25%'}}, 'a control is edited from its value');
	state = fold([{type: 'erase'}, {type: 'erase'}, {type: 'erase'}, {type: 'set-control'}, {type: 'started', requestId: 'r-1', at: 0}], state);
	t.like(state, {step: 'running', controls: {}}, 'empty cleared it; the run keeps its controls');
});

test('run controls: a dry run\'s answer is taken only for the dry run last asked', t => {
	const view = {requestId: 'r', planHash: 'h', targets: ['web1'], parallel: 64, timeoutSeconds: 30, answers: [], notes: []};
	let state = fold([{type: 'pick'}, {type: 'args-accepted', args: []}, {type: 'dry-run-asked', id: 1}, {type: 'dry-run-asked', id: 2}, {type: 'dry-run-answered', id: 1, view}]);
	t.like(state, {dryRun: {status: 'asking', id: 2}});
	state = fold([{type: 'dry-run-refused', id: 2, reason: 'no'}], state);
	t.like(state, {dryRun: {status: 'refused', id: 2, reason: 'no'}});
});

test('run controls: the canary question is asked on the running screen and answered once', t => {
	let state = fold([{type: 'pick'}, {type: 'args-accepted', args: []}, {type: 'started', requestId: 'r-1', at: 0}, {type: 'canary-asked', hosts: 1, rest: 4}]);
	t.like(state, {canary: {hosts: 1, rest: 4}});
	state = fold([{type: 'canary-answered', go: false}], state);
	t.like(state, {canary: undefined, notice: 'Stopped after the canary: the other 4 are skipped.'});
	t.is(fold([{type: 'canary-answered', go: true}], state), state, 'no question, nothing to answer');
});
