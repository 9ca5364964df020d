/**
 * A runbook's parameters as fields, typed by their JSON Schema (pure): what each kind of schema
 * makes of a field, what it shows, the value it gives and the error it names; and the run's steps
 * folded from the runbook's events.
 */
import test from 'ava';
import type {Parameter} from '../../source/runbooks/model.js';
import {checkFields, editField, fieldText, fieldType, fieldValue, parameterFields} from '../../source/ui/screens/runbooks/runbook-fields.js';
import {currentStep, reduceSteps, stepViews} from '../../source/ui/screens/runbooks/runbook-steps.js';
import {drainPlan} from './helpers/fake-runbooks.js';

const parameter = (schema: Record<string, unknown>, extra: Partial<Parameter> = {}): Parameter => ({name: 'p', schema, secret: false, ...extra});

test('each schema makes its kind of field: a choice, text, or JSON, filled with its default', t => {
	const cases: Array<[schema: Record<string, unknown>, extra: Partial<Parameter>, kind: string, type: string, shown: string]> = [
		[{enum: ['london', 'paris']}, {default: 'paris'}, 'choice', 'one of london, paris', 'paris'],
		[{enum: ['london', 'paris']}, {}, 'choice', 'one of london, paris', '← → to choose'],
		[{type: 'boolean'}, {default: false}, 'choice', 'yes or no', 'false'],
		[{type: 'string'}, {default: 'web'}, 'text', 'string', 'web'],
		[{}, {}, 'text', 'text', ''],
		[{type: ['string', 'null']}, {}, 'text', 'string or null', ''],
		[{type: 'integer'}, {default: 4}, 'json', 'integer (JSON)', '4'],
		[{type: 'array'}, {default: ['a']}, 'json', 'array (JSON)', '["a"]'],
		[{type: 'string'}, {default: 'hunter2', secret: true}, 'text', 'string', ''],
	];
	for (const [schema, extra, kind, type, shown] of cases) {
		const [field] = parameterFields([parameter(schema, extra)]);
		t.deepEqual([field!.kind, fieldType(field!), fieldText(field!)], [kind, type, shown], JSON.stringify({schema, extra}));
	}
});

test('a field gives its value typed by its schema, or names what is wrong in the core\'s words', t => {
	const typed = (schema: Record<string, unknown>, text: string, extra: Partial<Parameter> = {}) => {
		let [field] = parameterFields([parameter(schema, extra)]);
		field = {...field!, text: ''};
		field = editField(field, {type: 'type', text});
		const checked = checkFields([field]);
		return checked.ok ? {value: checked.values['p']} : {error: checked.fields[0]!.error};
	};

	t.deepEqual(typed({type: 'integer', maximum: 16}, '8'), {value: 8});
	t.deepEqual(typed({type: 'integer', maximum: 16}, '99'), {error: 'must be <= 16'});
	t.deepEqual(typed({type: 'integer'}, 'eight'), {error: 'is not JSON (integer (JSON)): type it as JSON, e.g. 3'});
	t.deepEqual(typed({type: 'string'}, '  spaced  '), {value: '  spaced  '}, 'text is taken as it is');
	t.deepEqual(typed({type: 'string', minLength: 4}, 'abc', {secret: true}), {error: 'must NOT have fewer than 4 characters'});
	t.deepEqual(typed({type: 'string'}, '', {secret: true}), {error: 'has no default: type a value'});
	t.deepEqual(typed({type: 'string'}, '', {secret: true, default: 'kept'}), {value: undefined}, 'an empty secret keeps its default (the core fills it)');
	t.deepEqual(typed({type: 'array'}, '["a","b"]'), {value: ['a', 'b']});
	t.is(fieldText(editField(parameterFields([parameter({type: 'string'}, {secret: true})])[0]!, {type: 'type', text: 'pässwörd'})), '••••••••', 'one dot a character');
});

test('← → cycle a choice both ways; a choice takes no typing', t => {
	let field = parameterFields([parameter({enum: ['a', 'b', 'c']})])[0]!;
	t.deepEqual(checkFields([field]), {ok: false, fields: [{...field, error: 'choose a value with ← →'}]});
	const cycle = (delta: number) => {
		field = editField(field, {type: 'cycle', delta});
		return fieldValue(field);
	};

	t.deepEqual([cycle(1), cycle(1), cycle(1), cycle(1), cycle(-1)], [{ok: true, value: 'a'}, {ok: true, value: 'b'}, {ok: true, value: 'c'}, {ok: true, value: 'a'}, {ok: true, value: 'c'}]);
	t.is(editField(field, {type: 'type', text: 'x'}), field, 'typing leaves a choice as it is');
});

test('the steps of a run: waiting, running with their hosts, ended; steps not reached say why', t => {
	let steps = stepViews(drainPlan);
	t.deepEqual(steps.map(step => [step.name, step.place, step.phase]), [['check', 'sequence', 'waiting'], ['restart', 'sequence', 'waiting'], ['recheck', 'sequence', 'waiting']]);
	t.is(currentStep(steps), 'check');
	steps = reduceSteps(steps, {type: 'step-started', step: 'check', requestId: 'r1', script: 'check-service', on: ['site=london']});
	steps = reduceSteps(steps, {type: 'step-event', step: 'check', event: {type: 'run-started', requestId: 'r1', script: 'check-service', args: [], targets: ['web1', '__proto__']}});
	steps = reduceSteps(steps, {type: 'step-event', step: 'check', event: {type: 'agent-output', agent: '__proto__', stream: 'stderr', data: 'half a li'}});
	steps = reduceSteps(steps, {type: 'step-event', step: 'check', event: {type: 'agent-output', agent: '__proto__', stream: 'stderr', data: 'ne\n'}});
	t.deepEqual(Object.getOwnPropertyNames(steps[0]!.live), ['__proto__'], 'a host named __proto__ is an own entry');
	t.deepEqual(steps[0]!.live['__proto__'], [{stream: 'stderr', text: 'half a line', open: false}]);
	t.is(steps[0]!.phase, 'running');
	steps = reduceSteps(steps, {type: 'step-finished', step: 'check', outcome: {status: 'failed', requestId: 'r1', counts: {failed: 2}, hosts: {ok: [], failed: ['web1', '__proto__']}, reason: '2 of 2 hosts failed'}});
	steps = reduceSteps(steps, {type: 'runbook-finished', status: 'failed', reason: 'step check failed', notRun: [{step: 'restart', reason: 'check failed'}, {step: 'recheck', reason: 'check failed'}]});
	t.deepEqual(steps.map(step => [step.name, step.phase, step.reason]), [['check', 'failed', '2 of 2 hosts failed'], ['restart', 'not run', 'check failed'], ['recheck', 'not run', 'check failed']]);
	t.is(currentStep(steps), 'check', 'once ended, the last step that ran');
});
