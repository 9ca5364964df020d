import test from 'ava';
import {readRunbook} from '../../source/runbooks/read-runbook.js';

const incident = `description: restart web where the health check fails
parameters:
  site:
    description: the site to look at
    schema: {type: string, enum: [london, paris]}
    default: london
steps:
  - name: check
    script: health-check
    on: {tags: {role: web, site: {param: site}}}
    onFailure: continue
  - name: restart
    script: restart-web
    on: {failedIn: check}
    batch: 1
    maxFailures: 0
    onFailure: run rollback
  - parallel:
      - name: recheck
        script: health-check
        on: {failedIn: check}
      - name: notify
        script: notify
        on: ops1
        args: [--site, {param: site}]
    when: always
  - name: rollback
    script: rollback
    on: {failedIn: restart}
`;

test('a well-formed YAML runbook becomes stages and handlers', t => {
	const read = readRunbook('incident', incident, 'yaml');
	if (!read.ok) {
		t.fail(read.problems.join('\n'));
		return;
	}

	const {runbook} = read;
	t.is(runbook.description, 'restart web where the health check fails');
	t.deepEqual(runbook.parameters, [{name: 'site', description: 'the site to look at', schema: {type: 'string', enum: ['london', 'paris']}, default: 'london', secret: false}]);
	t.deepEqual(runbook.stages.map(stage => (stage.kind === 'step' ? stage.step.name : stage.steps.map(step => step.name).join('+'))), ['check', 'restart', 'recheck+notify']);
	t.deepEqual(runbook.handlers.map(step => step.name), ['rollback']);
	const restart = runbook.stages[1]!;
	t.is(restart.kind, 'step');
	if (restart.kind === 'step') {
		t.deepEqual(restart.step.on, {failedIn: 'check'});
		t.deepEqual(restart.step.rollout, {batch: {value: 1, percent: false}, maxFailures: {value: 0, percent: false}});
		t.deepEqual(restart.step.onFailure, {type: 'run', step: 'rollback'});
		t.is(restart.step.when, 'previous.ok');
	}

	const group = runbook.stages[2]!;
	t.is(group.kind === 'parallel' ? group.when : undefined, 'always');
});

test('the same runbook as JSON reads the same', t => {
	const json = JSON.stringify({steps: [{name: 'check', script: 'health-check', on: ['role=web', {param: 'site'}], args: ['-v', 3, true]}], parameters: {site: {}}});
	const read = readRunbook('j', json, 'json');
	t.true(read.ok);
	if (read.ok) {
		t.deepEqual(read.runbook.parameters[0]!.schema, {type: 'string'});
		const stage = read.runbook.stages[0]!;
		t.deepEqual(stage.kind === 'step' ? stage.step.args : [], ['-v', 3, true]);
	}
});

const refusals: Array<{title: string; text: string; format?: 'yaml' | 'json'; problems: string[]}> = [
	{title: 'an empty file', text: '', problems: ['the file is empty']},
	{title: 'two YAML documents', text: 'steps: []\n---\nsteps: []\n', problems: ['the file holds 2 YAML documents; a runbook is one']},
	{title: 'a duplicate key', text: 'steps:\n  - name: a\n    name: b\n', problems: ['line 3: Map keys must be unique']},
	{title: 'not JSON', text: '{steps: ', format: 'json', problems: ['not JSON: Expected property name or \'}\' in JSON at position 1']},
	{title: 'no steps', text: 'description: x\n', problems: ['line 1, the file: missing "steps"']},
	{
		title: 'every schema problem at once, with its line',
		text: 'steps:\n  - name: Check\n    script: ok\n    on: [{tags: {}}]\n    onFailure: explode\n    when: sometimes\n    bogus: 1\n  - name: b\n    script: b\n',
		problems: [
			'line 7, steps[0].bogus: unknown property "bogus"',
			'line 2, steps[0].name: must be a name of lower-case letters, digits, dot, dash or underscore (at most 64)',
			'line 4, steps[0].on: must be a selector, a list of them, {param: NAME}, {tags: {...}}, {failedIn: STEP} or {succeededIn: STEP}',
			'line 5, steps[0].onFailure: must be stop, continue or "run STEP"',
			'line 6, steps[0].when: must be one of "previous.ok", "always"',
			'line 8, steps[1]: missing "on"',
		],
	},
	{title: 'a batch that is no amount', text: 'steps:\n  - {name: a, script: a, on: all, batch: "0%"}\n', problems: ['line 2, steps[0].batch: must be a whole number or a percentage from 1% to 100%']},
	{title: 'a parallel group of one', text: 'steps:\n  - parallel:\n      - {name: a, script: a, on: all}\n', problems: ['line 3, steps[0].parallel: must NOT have fewer than 2 items']},
	{
		title: 'every problem between parts at once',
		text: `parameters:
  token: {secret: true, default: abc}
  count: {schema: {type: integer}, default: "three"}
steps:
  - {name: a, script: a, on: all}
  - {name: a, script: b, on: all}
  - parallel:
      - {name: p1, script: p, on: all, onFailure: run h}
      - {name: p2, script: p, on: {failedIn: p1}}
  - {name: c, script: c, on: {param: token}, onFailure: run d}
  - {name: d, script: d, on: {param: nope}, onFailure: run c}
  - {name: e, script: e, on: {succeededIn: later}, onFailure: run e}
  - {name: f, script: f, on: all, onFailure: run ghost}
  - {name: later, script: x, on: all}
  - {name: h, script: h, on: all, when: always}
`,
		problems: [
			'parameter token: a secret has no default in the file (the file is not secret); give it with --param when running',
			'parameter count: its default "three" must be integer',
			'step a: two steps have this name; each needs its own',
			'step p1: a step in a parallel group cannot jump (onFailure: run h); put the handler after the group as its own step with when: always, or jump from a step after the group',
			'step e: onFailure: run e would run the step that just failed again',
			'step f: onFailure: run ghost names no step of this runbook',
			'onFailure: run jumps form a cycle: c → d → c; a failure would never end',
			'step c: on uses the secret parameter token; a secret cannot select hosts (selectors are recorded)',
			'step d: on uses {param: nope}, which is not among the parameters',
			'step p2: on: {failedIn: p1} must name a step that runs before it (an earlier step, or a handler)',
			'step e: on: {succeededIn: later} must name a step that runs before it (an earlier step, or a handler)',
		],
	},
	{title: 'only handlers', text: 'steps:\n  - {name: a, script: a, on: all, onFailure: run b}\n  - {name: b, script: b, on: all, onFailure: run a}\n', problems: ['onFailure: run jumps form a cycle: a → b → a; a failure would never end', 'every step is a handler (the target of onFailure: run): nothing would run first']},
	{title: 'a parameter schema that is no JSON Schema', text: 'parameters:\n  n: {schema: {type: integr}}\nsteps:\n  - {name: a, script: a, on: all}\n', problems: ['parameter n: its schema is not valid JSON Schema 2020-12: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf']},
	{title: 'a remote $ref in a parameter schema', text: 'parameters:\n  n: {schema: {$ref: "https://example.com/s.json"}}\nsteps:\n  - {name: a, script: a, on: all}\n', problems: ['parameter n: its schema may only use local "$ref"s (starting with #)']},
	{title: 'an alias bomb', text: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nsteps: []\n`, problems: ['Excessive alias count indicates a resource exhaustion attack']},
];

for (const row of refusals) {
	test(`refused: ${row.title}`, t => {
		const read = readRunbook('r', row.text, row.format ?? 'yaml');
		t.deepEqual(read, {ok: false, problems: row.problems});
	});
}

test('a file over the size limit is refused before it is parsed', t => {
	const read = readRunbook('big', `steps: []\n# ${'x'.repeat(300 * 1024)}\n`, 'yaml');
	t.false(read.ok);
	t.regex(read.ok ? '' : read.problems[0]!, /^the file is \d+ bytes; a runbook may have at most 262144$/);
});
