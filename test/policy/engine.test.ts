import test from 'ava';
import {applyCharges, evaluate, parsePolicy, type Decision, type Policy, type PolicyRequest, type RateState} from '../../source/policy/engine.js';

function policyOf(value: unknown): Policy {
	const parsed = parsePolicy(value);
	if (!parsed.ok) {
		throw new Error(parsed.problems.join('; '));
	}

	return parsed.policy;
}

/** The decision table's policy. The first rule allows root everything, to show that denials are checked first. */
const policy = policyOf({rules: [
	{name: 'root-runs-anything', effect: 'allow', callers: ['root@ops'], scripts: ['*']},
	{name: 'never-force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force', '-rf']}},
	{name: 'no-friday-evening-deploys', effect: 'deny', callers: ['*'], scripts: ['deploy'], window: {days: ['fri'], hours: '16:00-24:00', timeZone: 'Europe/London'}},
	{name: 'mallory-banned', effect: 'deny', callers: ['mallory@ops'], scripts: ['*']},
	{name: 'restart', effect: 'allow', callers: ['alice@ops', 'token:contractor-acme'], scripts: ['restart-nginx'], args: {positions: [{enum: ['graceful', 'hard']}], maxCount: 1}},
	{name: 'tail', effect: 'allow', callers: ['alice@ops', 'bob@*'], scripts: ['tail-log'], args: {positions: [{pattern: '[a-z]+\\.log'}, {pattern: '[0-9]{1,4}'}], maxCount: 2}},
	{name: 'listing', effect: 'allow', callers: ['alice@ops'], scripts: ['list-files']},
	{name: 'office-deploys', effect: 'allow', callers: ['alice@ops'], scripts: ['deploy'], window: {days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '08:00-18:00', timeZone: 'Europe/London'}},
	{name: 'night-reindex', effect: 'allow', callers: ['batch@ops'], scripts: ['reindex'], window: {hours: '22:00-06:00', timeZone: 'Europe/London'}},
]});

/** Wednesday 14 January 2026, 10:00 in London (GMT, the same as UTC in winter). */
const wednesday = '2026-01-14T10:00:00.000Z';

const allowedBy = (rule: string): Decision => ({allowed: true, rule, reason: `allowed by rule "${rule}"`, charge: []});
const deniedBy = (rule: string, flag?: string): Decision => ({allowed: false, rule, reason: `denied by rule "${rule}"${flag ? `: ${flag}` : ''}`});
const refused = (reason: string): Decision => ({allowed: false, reason});

type Row = {title: string; caller: string; token?: string; script: string; args?: string[]; at?: string; decision: Decision};

const decisions: Row[] = [
	// Precedence: deny first, then allow, and no match is deny.
	{title: 'root, allowed by the first rule', caller: 'root@ops', script: 'uptime', decision: allowedBy('root-runs-anything')},
	{title: 'root with -rf: the deny rule wins although an allow rule comes first', caller: 'root@ops', script: 'list-files', args: ['-rf', '/'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: 'a banned caller, even with arguments every rule accepts', caller: 'mallory@ops', script: 'restart-nginx', args: ['graceful'], decision: deniedBy('mallory-banned')},
	{title: 'a caller no rule names', caller: 'eve@ops', script: 'restart-nginx', args: ['graceful'], decision: refused('no rule allows eve@ops to run restart-nginx')},
	{title: 'a script no rule names', caller: 'alice@ops', script: 'drop-database', decision: refused('no rule allows alice@ops to run drop-database')},
	{title: 'a glob in callers is a prefix only', caller: 'bobby@ops', script: 'tail-log', args: ['app.log'], decision: refused('no rule allows bobby@ops to run tail-log')},
	{title: 'a caller glob', caller: 'bob@laptop', script: 'tail-log', args: ['app.log', '20'], decision: allowedBy('tail')},

	// Tokens: a token's name is a caller too.
	{title: 'a contractor through the token', caller: 'carol@acme', token: 'contractor-acme', script: 'restart-nginx', args: ['hard'], decision: allowedBy('restart')},
	{title: 'the same contractor without the token', caller: 'carol@acme', script: 'restart-nginx', args: ['hard'], decision: refused('no rule allows carol@acme to run restart-nginx')},
	{title: 'another token', caller: 'carol@acme', token: 'contractor-other', script: 'restart-nginx', args: ['hard'], decision: refused('no rule allows carol@acme to run restart-nginx')},

	// Positions: enum, pattern (anchored to the whole argument), maxCount.
	{title: 'an allowed value', caller: 'alice@ops', script: 'restart-nginx', args: ['graceful'], decision: allowedBy('restart')},
	{title: 'no argument at all (a position constrains a value only when there is one)', caller: 'alice@ops', script: 'restart-nginx', args: [], decision: allowedBy('restart')},
	{title: 'a value outside the enum', caller: 'alice@ops', script: 'restart-nginx', args: ['reload'], decision: refused('rule "restart" does not allow it: argument 1 "reload" is not one of "graceful", "hard"')},
	{title: 'an enum value with a trailing space', caller: 'alice@ops', script: 'restart-nginx', args: ['graceful '], decision: refused('rule "restart" does not allow it: argument 1 "graceful " is not one of "graceful", "hard"')},
	{title: 'one argument more than maxCount', caller: 'alice@ops', script: 'restart-nginx', args: ['graceful', 'now'], decision: refused('rule "restart" does not allow it: 2 arguments, at most 1')},
	{title: 'both patterns fit', caller: 'alice@ops', script: 'tail-log', args: ['nginx.log', '200'], decision: allowedBy('tail')},
	{title: 'a path where a log name is expected', caller: 'alice@ops', script: 'tail-log', args: ['../../etc/shadow'], decision: refused('rule "tail" does not allow it: argument 1 "../../etc/shadow" does not match [a-z]+\\.log')},
	{title: 'a pattern matches the whole argument, not a prefix', caller: 'alice@ops', script: 'tail-log', args: ['nginx.log.bak'], decision: refused('rule "tail" does not allow it: argument 1 "nginx.log.bak" does not match [a-z]+\\.log')},
	{title: 'a pattern matches the whole argument, not a suffix', caller: 'alice@ops', script: 'tail-log', args: ['/etc/x.log'], decision: refused('rule "tail" does not allow it: argument 1 "/etc/x.log" does not match [a-z]+\\.log')},
	{title: 'a trailing newline does not slip past $', caller: 'alice@ops', script: 'tail-log', args: ['nginx.log\n'], decision: refused('rule "tail" does not allow it: argument 1 "nginx.log\\n" does not match [a-z]+\\.log')},
	{title: 'five digits where at most four are allowed', caller: 'alice@ops', script: 'tail-log', args: ['nginx.log', '12345'], decision: refused('rule "tail" does not allow it: argument 2 "12345" does not match [0-9]{1,4}')},
	{title: 'three arguments where at most two are allowed', caller: 'alice@ops', script: 'tail-log', args: ['nginx.log', '20', 'x'], decision: refused('rule "tail" does not allow it: 3 arguments, at most 2')},

	// Forbidden flags and their neighbours, on a script whose allow rule takes any argument.
	{title: '--force', caller: 'alice@ops', script: 'list-files', args: ['--force'], decision: deniedBy('never-force', '"--force" (forbidden: --force)')},
	{title: '--force=1', caller: 'alice@ops', script: 'list-files', args: ['--force=1'], decision: deniedBy('never-force', '"--force=1" (forbidden: --force)')},
	{title: '--force= (empty value)', caller: 'alice@ops', script: 'list-files', args: ['--force='], decision: deniedBy('never-force', '"--force=" (forbidden: --force)')},
	{title: 'the abbreviation --forc', caller: 'alice@ops', script: 'list-files', args: ['--forc'], decision: deniedBy('never-force', '"--forc" (forbidden: --force)')},
	{title: 'the abbreviation --fo', caller: 'alice@ops', script: 'list-files', args: ['--fo'], decision: deniedBy('never-force', '"--fo" (forbidden: --force)')},
	{title: 'the one-letter abbreviation --f (getopt_long and argparse expand it)', caller: 'alice@ops', script: 'list-files', args: ['--f'], decision: deniedBy('never-force', '"--f" (forbidden: --force)')},
	{title: 'the abbreviation with a value, --fo=yes', caller: 'alice@ops', script: 'list-files', args: ['--fo=yes'], decision: deniedBy('never-force', '"--fo=yes" (forbidden: --force)')},
	{title: 'one dash, as Go\'s flag package reads it: -force', caller: 'alice@ops', script: 'list-files', args: ['-force'], decision: deniedBy('never-force', '"-force" (forbidden: --force)')},
	{title: '-force=true', caller: 'alice@ops', script: 'list-files', args: ['-force=true'], decision: deniedBy('never-force', '"-force=true" (forbidden: --force)')},
	{title: '--force after other arguments', caller: 'alice@ops', script: 'list-files', args: ['-l', '/var', '--force'], decision: deniedBy('never-force', '"--force" (forbidden: --force)')},
	{title: '--force after a -- separator (a script need not honour --)', caller: 'alice@ops', script: 'list-files', args: ['--', '--force'], decision: deniedBy('never-force', '"--force" (forbidden: --force)')},
	{title: '-rf', caller: 'alice@ops', script: 'list-files', args: ['-rf'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-fr', caller: 'alice@ops', script: 'list-files', args: ['-fr'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-r -f', caller: 'alice@ops', script: 'list-files', args: ['-r', '-f'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-rvf', caller: 'alice@ops', script: 'list-files', args: ['-rvf'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-r, an operand, then -f', caller: 'alice@ops', script: 'list-files', args: ['-r', '/tmp/x', '-f'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-rf after a -- separator', caller: 'alice@ops', script: 'list-files', args: ['--', '-rf'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: '-format (getopt reads -f -o -r -m -a -t)', caller: 'alice@ops', script: 'list-files', args: ['-format'], decision: deniedBy('never-force', '-r -f (forbidden: -rf)')},
	{title: 'not a neighbour: --force-with-lease', caller: 'alice@ops', script: 'list-files', args: ['--force-with-lease'], decision: allowedBy('listing')},
	{title: 'not a neighbour: --forced', caller: 'alice@ops', script: 'list-files', args: ['--forced'], decision: allowedBy('listing')},
	{title: 'not a neighbour: --format', caller: 'alice@ops', script: 'list-files', args: ['--format=long'], decision: allowedBy('listing')},
	{title: 'not a neighbour: --FORCE (flags are case-sensitive)', caller: 'alice@ops', script: 'list-files', args: ['--FORCE'], decision: allowedBy('listing')},
	{title: 'not a neighbour: force without dashes', caller: 'alice@ops', script: 'list-files', args: ['force'], decision: allowedBy('listing')},
	{title: 'not a neighbour: a lone --', caller: 'alice@ops', script: 'list-files', args: ['--'], decision: allowedBy('listing')},
	{title: 'not a neighbour: -r alone', caller: 'alice@ops', script: 'list-files', args: ['-r'], decision: allowedBy('listing')},
	{title: 'not a neighbour: -f alone', caller: 'alice@ops', script: 'list-files', args: ['-f'], decision: allowedBy('listing')},
	{title: 'not a neighbour: -R -f', caller: 'alice@ops', script: 'list-files', args: ['-R', '-f'], decision: allowedBy('listing')},
	{title: 'not a neighbour: -f in a value (x-rf)', caller: 'alice@ops', script: 'list-files', args: ['x-rf'], decision: allowedBy('listing')},
	{title: 'a forbidden flag with an otherwise allowed value', caller: 'alice@ops', script: 'restart-nginx', args: ['--force'], decision: deniedBy('never-force', '"--force" (forbidden: --force)')},

	// Time windows in Europe/London, across the GMT/BST boundary.
	{title: 'a deploy on a Wednesday morning', caller: 'alice@ops', script: 'deploy', at: wednesday, decision: allowedBy('office-deploys')},
	{title: 'a deploy at 07:30 UTC in winter (07:30 GMT)', caller: 'alice@ops', script: 'deploy', at: '2026-01-14T07:30:00.000Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'a deploy at 07:30 UTC in summer (08:30 BST)', caller: 'alice@ops', script: 'deploy', at: '2026-07-15T07:30:00.000Z', decision: allowedBy('office-deploys')},
	{title: 'a deploy at 17:30 UTC in winter (17:30 GMT)', caller: 'alice@ops', script: 'deploy', at: '2026-01-14T17:30:00.000Z', decision: allowedBy('office-deploys')},
	{title: 'a deploy at 17:30 UTC in summer (18:30 BST)', caller: 'alice@ops', script: 'deploy', at: '2026-07-15T17:30:00.000Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'a deploy at 07:59:59 GMT (the window starts at 08:00)', caller: 'alice@ops', script: 'deploy', at: '2026-01-14T07:59:59.999Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'a deploy at 18:00 GMT (the window ends before 18:00)', caller: 'alice@ops', script: 'deploy', at: '2026-01-14T18:00:00.000Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'a deploy on a Sunday', caller: 'alice@ops', script: 'deploy', at: '2026-01-18T10:00:00.000Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'a deploy on a Friday at 15:59 GMT', caller: 'alice@ops', script: 'deploy', at: '2026-01-16T15:59:00.000Z', decision: allowedBy('office-deploys')},
	{title: 'a deploy on a Friday at 16:00 GMT: the freeze', caller: 'alice@ops', script: 'deploy', at: '2026-01-16T16:00:00.000Z', decision: deniedBy('no-friday-evening-deploys')},
	{title: 'a deploy on a Friday at 15:30 UTC in summer (16:30 BST): the freeze', caller: 'alice@ops', script: 'deploy', at: '2026-07-17T15:30:00.000Z', decision: deniedBy('no-friday-evening-deploys')},
	{title: 'a deploy on a Friday at 23:30 GMT: the freeze', caller: 'alice@ops', script: 'deploy', at: '2026-01-16T23:30:00.000Z', decision: deniedBy('no-friday-evening-deploys')},
	{title: 'Friday 23:30 UTC in summer is Saturday 00:30 in London: no freeze, no office hours', caller: 'alice@ops', script: 'deploy', at: '2026-07-17T23:30:00.000Z', decision: refused('rule "office-deploys" does not allow it: outside its time window')},
	{title: 'root during the freeze (the deny rule names every caller)', caller: 'root@ops', script: 'deploy', at: '2026-01-16T17:00:00.000Z', decision: deniedBy('no-friday-evening-deploys')},

	// An overnight window, 22:00-06:00 London, across both DST changes.
	{title: 'reindex at 21:59 GMT', caller: 'batch@ops', script: 'reindex', at: '2026-01-14T21:59:00.000Z', decision: refused('rule "night-reindex" does not allow it: outside its time window')},
	{title: 'reindex at 22:00 GMT', caller: 'batch@ops', script: 'reindex', at: '2026-01-14T22:00:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 03:00 GMT, past midnight', caller: 'batch@ops', script: 'reindex', at: '2026-01-15T03:00:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 05:59 GMT', caller: 'batch@ops', script: 'reindex', at: '2026-01-15T05:59:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 06:00 GMT', caller: 'batch@ops', script: 'reindex', at: '2026-01-15T06:00:00.000Z', decision: refused('rule "night-reindex" does not allow it: outside its time window')},
	{title: 'reindex at 21:30 UTC in summer (22:30 BST)', caller: 'batch@ops', script: 'reindex', at: '2026-07-15T21:30:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 05:30 UTC the day before clocks go forward (05:30 GMT)', caller: 'batch@ops', script: 'reindex', at: '2026-03-28T05:30:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 00:30 UTC on the night clocks go forward (00:30 GMT)', caller: 'batch@ops', script: 'reindex', at: '2026-03-29T00:30:00.000Z', decision: allowedBy('night-reindex')},
	{title: 'reindex at 05:30 UTC the morning clocks went forward (06:30 BST)', caller: 'batch@ops', script: 'reindex', at: '2026-03-29T05:30:00.000Z', decision: refused('rule "night-reindex" does not allow it: outside its time window')},
	{title: 'reindex at 05:30 UTC the day before clocks go back (06:30 BST)', caller: 'batch@ops', script: 'reindex', at: '2026-10-24T05:30:00.000Z', decision: refused('rule "night-reindex" does not allow it: outside its time window')},
	{title: 'reindex at 05:30 UTC the morning clocks went back (05:30 GMT)', caller: 'batch@ops', script: 'reindex', at: '2026-10-25T05:30:00.000Z', decision: allowedBy('night-reindex')},
];

for (const row of decisions) {
	test(`decision: ${row.title}`, t => {
		const request: PolicyRequest = {caller: row.caller, token: row.token ? {id: 'a1b2c3', name: row.token} : null, script: row.script, args: row.args ?? []};
		t.deepEqual(evaluate(policy, request, new Date(row.at ?? wednesday), {}), row.decision);
	});
}

test('evaluating does not change the policy or the rate state it is given', t => {
	const rates: RateState = {'x|caller alice@ops': [1]};
	const before = structuredClone({policy, rates});
	evaluate(policy, {caller: 'alice@ops', script: 'list-files', args: ['--force']}, new Date(wednesday), rates);
	evaluate(policy, {caller: 'alice@ops', script: 'deploy', args: []}, new Date(wednesday), rates);
	t.deepEqual({policy, rates}, before);
});

// Rate limits: per caller and per script, with a clock that moves.

const limited = policyOf({rules: [
	{name: 'limited', effect: 'allow', callers: ['*'], scripts: ['restart-nginx', 'tail-log'], rate: {perCaller: '2/1m', perScript: '3/1h'}},
]});

const start = Date.parse('2026-01-14T10:00:00.000Z');
const callerFull = (who: string) => refused(`rule "limited" does not allow it: rate limit reached (2 per 60 s for caller ${who})`);
const scriptFull = (script: string) => refused(`rule "limited" does not allow it: rate limit reached (3 per 3600 s for script ${script})`);
const charged = (caller: string, script: string): Decision => ({allowed: true, rule: 'limited', reason: 'allowed by rule "limited"', charge: [{key: `limited|caller ${caller}`, windowMs: 60_000}, {key: `limited|script ${script}`, windowMs: 3_600_000}]});

type Step = {atSeconds: number; caller: string; token?: string; script: string; dryRun?: boolean; decision: Decision};

const rateSteps: Step[] = [
	{atSeconds: 0, caller: 'alice@ops', script: 'restart-nginx', decision: charged('alice@ops', 'restart-nginx')},
	{atSeconds: 1, caller: 'alice@ops', script: 'restart-nginx', decision: charged('alice@ops', 'restart-nginx')},
	{atSeconds: 2, caller: 'alice@ops', script: 'restart-nginx', decision: callerFull('alice@ops')},
	{atSeconds: 3, caller: 'alice@ops', script: 'restart-nginx', dryRun: true, decision: callerFull('alice@ops')},
	{atSeconds: 10, caller: 'bob@ops', script: 'restart-nginx', dryRun: true, decision: {allowed: true, rule: 'limited', reason: 'allowed by rule "limited"', charge: []}},
	{atSeconds: 10, caller: 'bob@ops', script: 'restart-nginx', dryRun: true, decision: {allowed: true, rule: 'limited', reason: 'allowed by rule "limited"', charge: []}},
	{atSeconds: 11, caller: 'bob@ops', script: 'restart-nginx', decision: charged('bob@ops', 'restart-nginx')},
	{atSeconds: 12, caller: 'carol@ops', script: 'restart-nginx', decision: scriptFull('restart-nginx')},
	{atSeconds: 13, caller: 'carol@ops', script: 'tail-log', decision: charged('carol@ops', 'tail-log')},
	// Alice's calls at 0 s and 1 s: at 60 s the first has left the one-minute window, the second has not.
	{atSeconds: 60, caller: 'alice@ops', script: 'tail-log', decision: charged('alice@ops', 'tail-log')},
	{atSeconds: 60.5, caller: 'alice@ops', script: 'tail-log', decision: callerFull('alice@ops')},
	{atSeconds: 61, caller: 'alice@ops', script: 'tail-log', decision: charged('alice@ops', 'tail-log')},
	{atSeconds: 62, caller: 'dave@ops', script: 'tail-log', decision: scriptFull('tail-log')},
	// restart-nginx ran at 0 s, 1 s and 11 s: at 3600 s the first has left the hour, at 3611 s the third has too.
	{atSeconds: 3600, caller: 'dave@ops', script: 'restart-nginx', decision: charged('dave@ops', 'restart-nginx')},
	{atSeconds: 3600.5, caller: 'erin@ops', script: 'restart-nginx', decision: scriptFull('restart-nginx')},
	{atSeconds: 3611, caller: 'erin@ops', script: 'restart-nginx', decision: charged('erin@ops', 'restart-nginx')},
	// A token's calls count together, whoever presents it.
	{atSeconds: 4000, caller: 'carol@acme', token: 'contractor-acme', script: 'tail-log', decision: charged('token:contractor-acme', 'tail-log')},
	{atSeconds: 4001, caller: 'dan@acme', token: 'contractor-acme', script: 'tail-log', decision: charged('token:contractor-acme', 'tail-log')},
	{atSeconds: 4002, caller: 'erin@acme', token: 'contractor-acme', script: 'restart-nginx', decision: callerFull('token:contractor-acme')},
	{atSeconds: 4003, caller: 'erin@acme', script: 'restart-nginx', decision: charged('erin@acme', 'restart-nginx')},
];

test('rate limits per caller and per script, step by step with a moving clock', t => {
	let rates: RateState = {};
	for (const step of rateSteps) {
		const now = new Date(start + (step.atSeconds * 1000));
		const request: PolicyRequest = {caller: step.caller, token: step.token ? {id: 'a1b2c3', name: step.token} : null, script: step.script, args: [], dryRun: step.dryRun ?? false};
		const decision = evaluate(limited, request, now, rates);
		t.deepEqual(decision, step.decision, `at ${step.atSeconds} s, ${step.caller} runs ${step.script}${step.dryRun ? ' (dry run)' : ''}`);
		if (decision.allowed) {
			rates = applyCharges(rates, decision.charge ?? [], now);
		}
	}

	// Only calls still inside their windows are kept (as of each key's last charge).
	t.deepEqual(rates, {
		'limited|caller alice@ops': [start + 60_000, start + 61_000],
		'limited|caller bob@ops': [start + 11_000],
		'limited|caller carol@ops': [start + 13_000],
		'limited|caller dave@ops': [start + 3_600_000],
		'limited|caller erin@ops': [start + 3_611_000],
		'limited|caller erin@acme': [start + 4_003_000],
		'limited|caller token:contractor-acme': [start + 4_000_000, start + 4_001_000],
		'limited|script restart-nginx': [start + 3_600_000, start + 3_611_000, start + 4_003_000],
		// Charged at 4000 s: the calls at 13 s, 60 s and 61 s had left the hour.
		'limited|script tail-log': [start + 4_000_000, start + 4_001_000],
	});
});

test('a dry run is decided like a real one but charges nothing', t => {
	const now = new Date(start);
	let rates: RateState = {};
	for (let index = 0; index < 5; index++) {
		const decision = evaluate(limited, {caller: 'alice@ops', script: 'tail-log', args: [], dryRun: true}, now, rates);
		t.deepEqual(decision, {allowed: true, rule: 'limited', reason: 'allowed by rule "limited"', charge: []});
		rates = applyCharges(rates, decision.charge ?? [], now);
	}

	t.deepEqual(rates, {});
	const real = evaluate(limited, {caller: 'alice@ops', script: 'tail-log', args: []}, now, rates);
	t.deepEqual(real, charged('alice@ops', 'tail-log'));
});

test('applyCharges returns a new state and forgets calls older than the window', t => {
	const rates: RateState = {'limited|caller alice@ops': [start - 60_000, start - 59_999], other: [1]};
	const next = applyCharges(rates, [{key: 'limited|caller alice@ops', windowMs: 60_000}], new Date(start));
	t.deepEqual(next, {'limited|caller alice@ops': [start - 59_999, start], other: [1]});
	t.deepEqual(rates, {'limited|caller alice@ops': [start - 60_000, start - 59_999], other: [1]});
});

// parsePolicy: every malformed rule with its exact message.

const valid = {effect: 'allow', callers: ['*'], scripts: ['*']};

const problems: Array<{title: string; value: unknown; problems: string[]}> = [
	{title: 'null', value: null, problems: ['a policy is {"rules": [...]}']},
	{title: 'a list instead of an object', value: [valid], problems: ['a policy is {"rules": [...]}']},
	{title: 'rules that are not a list', value: {rules: {a: valid}}, problems: ['a policy is {"rules": [...]}']},
	{title: 'a rule that is null', value: {rules: [null]}, problems: ['rule 1: a rule must be an object']},
	// Unknown keys anywhere: a misspelled or misplaced condition must not make a rule unconditional.
	{title: 'an unknown top-level key', value: {rules: [valid], rule: []}, problems: ['unknown key "rule" in the policy (it takes "rules")']},
	{title: 'a misspelled condition on a rule', value: {rules: [{...valid, name: 'r', windows: {hours: '08:00-18:00'}}]}, problems: ['r: unknown key "windows" in the rule (it takes "name", "effect", "callers", "scripts", "args", "window", "rate", "approved")']},
	{title: 'a condition misplaced into the rule (forbid belongs in args)', value: {rules: [{...valid, name: 'r', forbid: ['--force']}]}, problems: ['r: unknown key "forbid" in the rule (it takes "name", "effect", "callers", "scripts", "args", "window", "rate", "approved")']},
	{title: 'a misspelled key in args', value: {rules: [{...valid, name: 'r', args: {forbidden: ['--force']}}]}, problems: ['r: unknown key "forbidden" in "args" (it takes "forbid", "options", "shortOptions", "longOptions", "positions", "maxCount")']},
	{title: 'shortOptions that is not an option string', value: {rules: [{...valid, name: 'r', args: {options: 'getopt', shortOptions: 'c-f:'}}]}, problems: ['r: "args.shortOptions" is the program\'s getopt option string, letters each followed by ":" when it takes a value, such as "cvf:C:I:"']},
	{title: 'shortOptions with three colons', value: {rules: [{...valid, name: 'r', args: {options: 'getopt', shortOptions: 'f:::'}}]}, problems: ['r: "args.shortOptions" is the program\'s getopt option string, letters each followed by ":" when it takes a value, such as "cvf:C:I:"']},
	{title: 'shortOptions without a declared syntax', value: {rules: [{...valid, name: 'r', args: {shortOptions: 'cf:'}}]}, problems: ['r: "args.shortOptions" needs "args.options" to be "getopt", "getopt_long", "tar" (how the program reads them)']},
	{title: 'shortOptions under ps', value: {rules: [{...valid, name: 'r', args: {options: 'ps', shortOptions: 'cf:'}}]}, problems: ['r: "args.shortOptions" needs "args.options" to be "getopt", "getopt_long", "tar" (how the program reads them)']},
	{title: 'a long option with a value after its =', value: {rules: [{...valid, name: 'r', args: {longOptions: ['--file=x']}}]}, problems: ['r: "args.longOptions" must list the program\'s long options such as "--checkpoint", with "=" after one that takes a value ("--file=")']},
	{title: 'a misspelled key in window', value: {rules: [{...valid, name: 'r', window: {day: ['mon']}}]}, problems: ['r: unknown key "day" in "window" (it takes "days", "hours", "timeZone")']},
	{title: 'a misspelled key in rate', value: {rules: [{...valid, name: 'r', rate: {perUser: '1/1h'}}]}, problems: ['r: unknown key "perUser" in "rate" (it takes "perCaller", "perScript")']},
	{title: 'a misspelled key in a position', value: {rules: [{...valid, name: 'r', args: {positions: [{values: ['a']}]}}]}, problems: ['r: unknown key "values" in "args.positions[0]" (it takes "enum", "pattern")']},
	{title: 'a position that is not an object', value: {rules: [{...valid, name: 'r', args: {positions: ['^[a-z]+$']}}]}, problems: ['r: "args.positions[0]" must be an object such as {"enum": [...]} or {"pattern": "..."}']},
	{title: '__proto__ as a key', value: {rules: [JSON.parse('{"name": "r", "effect": "allow", "callers": ["*"], "scripts": ["*"], "__proto__": {"window": 1}}') as unknown]}, problems: ['r: unknown key "__proto__" in the rule (it takes "name", "effect", "callers", "scripts", "args", "window", "rate", "approved")']},
	{title: 'a rule that is a string', value: {rules: [valid, 'allow all']}, problems: ['rule 2: a rule must be an object']},
	{title: 'an unknown effect', value: {rules: [{...valid, name: 'r', effect: 'permit'}]}, problems: ['r: "effect" must be "allow" or "deny"']},
	{title: 'no effect', value: {rules: [{callers: ['*'], scripts: ['*']}]}, problems: ['rule 1: "effect" must be "allow" or "deny"']},
	{title: 'a name that is not a string', value: {rules: [{...valid, name: 7, effect: 'maybe'}]}, problems: ['rule 1: "effect" must be "allow" or "deny"']},
	{title: 'no callers', value: {rules: [{...valid, callers: []}]}, problems: ['rule 1: "callers" and "scripts" must be non-empty lists of strings ("*" for any)']},
	{title: 'callers as a string', value: {rules: [{...valid, callers: '*'}]}, problems: ['rule 1: "callers" and "scripts" must be non-empty lists of strings ("*" for any)']},
	{title: 'a script that is not a string', value: {rules: [{...valid, scripts: ['tail-log', 1]}]}, problems: ['rule 1: "callers" and "scripts" must be non-empty lists of strings ("*" for any)']},
	{title: 'args as a list', value: {rules: [{...valid, name: 'r', args: ['--force']}]}, problems: ['r: "args" must be an object']},
	{title: 'args null', value: {rules: [{...valid, name: 'r', args: null}]}, problems: ['r: "args" must be an object']},
	{title: 'forbid as a string', value: {rules: [{...valid, name: 'r', args: {forbid: '--force'}}]}, problems: ['r: "args.forbid" must be a list of flags']},
	{title: 'positions as an object', value: {rules: [{...valid, name: 'r', args: {positions: {0: {enum: ['a']}}}}]}, problems: ['r: "args.positions" must be a list']},
	{title: 'an enum that is not a list of strings', value: {rules: [{...valid, name: 'r', args: {positions: [{}, {enum: 'a'}]}}]}, problems: ['r: "args.positions[1].enum" must be a list of strings']},
	{title: 'a pattern that is not a string', value: {rules: [{...valid, name: 'r', args: {positions: [{pattern: 5}]}}]}, problems: ['r: "args.positions[0].pattern": must be a string']},
	{title: 'a catastrophic pattern', value: {rules: [{...valid, name: 'r', args: {positions: [{pattern: '(a+)+'}]}}]}, problems: ['r: "args.positions[0].pattern": a repeated group contains a quantifier (like (a+)+), which can take exponential time']},
	{title: 'a repeated alternation', value: {rules: [{...valid, name: 'r', args: {positions: [{pattern: '(a|aa)+'}]}}]}, problems: ['r: "args.positions[0].pattern": a repeated group contains an alternation (like (a|aa)+), which can take exponential time']},
	{title: 'a lookahead', value: {rules: [{...valid, name: 'r', args: {positions: [{pattern: '(?=a)a'}]}}]}, problems: ['r: "args.positions[0].pattern": backreferences and lookaround are not allowed']},
	{title: 'an unterminated group', value: {rules: [{...valid, name: 'r', args: {positions: [{pattern: '(a'}]}}]}, problems: ['r: "args.positions[0].pattern": not a regular expression: Invalid regular expression: /(a/u: Unterminated group']},
	{title: 'a negative maxCount', value: {rules: [{...valid, name: 'r', args: {maxCount: -1}}]}, problems: ['r: "args.maxCount" must be a whole number']},
	{title: 'a fractional maxCount', value: {rules: [{...valid, name: 'r', args: {maxCount: 1.5}}]}, problems: ['r: "args.maxCount" must be a whole number']},
	{title: 'maxCount as a string', value: {rules: [{...valid, name: 'r', args: {maxCount: '2'}}]}, problems: ['r: "args.maxCount" must be a whole number']},
	{title: 'a window that is a string', value: {rules: [{...valid, name: 'r', window: 'office hours'}]}, problems: ['r: "window" must be an object']},
	{title: 'an unknown time zone', value: {rules: [{...valid, name: 'r', window: {timeZone: 'Mars/Olympus'}}]}, problems: ['r: "window.timeZone" "Mars/Olympus" is not a time zone']},
	{title: 'a time zone that is not a string (not silently UTC)', value: {rules: [{...valid, name: 'r', window: {timeZone: 1}}]}, problems: ['r: "window.timeZone" 1 is not a time zone']},
	{title: 'an unknown day', value: {rules: [{...valid, name: 'r', window: {days: ['mon', 'funday']}}]}, problems: ['r: "window.days" must list days such as "mon", "tue"']},
	{title: 'days as a string', value: {rules: [{...valid, name: 'r', window: {days: 'mon'}}]}, problems: ['r: "window.days" must list days such as "mon", "tue"']},
	{title: 'hours without minutes', value: {rules: [{...valid, name: 'r', window: {hours: '8-18'}}]}, problems: ['r: "window.hours" must look like "08:00-18:00"']},
	{title: 'hours past 24', value: {rules: [{...valid, name: 'r', window: {hours: '08:00-25:00'}}]}, problems: ['r: "window.hours" must look like "08:00-18:00"']},
	{title: 'a window starting at 24:00', value: {rules: [{...valid, name: 'r', window: {hours: '24:00-06:00'}}]}, problems: ['r: "window.hours" must look like "08:00-18:00"']},
	{title: 'rate null', value: {rules: [{...valid, name: 'r', rate: null}]}, problems: ['r: "rate" must be an object']},
	{title: 'a rate of zero', value: {rules: [{...valid, name: 'r', rate: {perCaller: '0/1h'}}]}, problems: ['r: "rate.perCaller" and "rate.perScript" look like "10/1h" (count / 30s, 5m, 1h or 1d)']},
	{title: 'a rate per week', value: {rules: [{...valid, name: 'r', rate: {perScript: '10/1w'}}]}, problems: ['r: "rate.perCaller" and "rate.perScript" look like "10/1h" (count / 30s, 5m, 1h or 1d)']},
	{title: 'a rate as a number', value: {rules: [{...valid, name: 'r', rate: {perCaller: 10}}]}, problems: ['r: "rate.perCaller" and "rate.perScript" look like "10/1h" (count / 30s, 5m, 1h or 1d)']},
	{
		title: 'several bad rules among good ones: every problem, in order',
		value: {rules: [valid, {...valid, name: 'a', effect: 'block'}, {...valid, name: 'b', args: {maxCount: -2}}, valid, {...valid, name: 'c', window: {hours: 'always'}}]},
		problems: ['a: "effect" must be "allow" or "deny"', 'b: "args.maxCount" must be a whole number', 'c: "window.hours" must look like "08:00-18:00"'],
	},
];

for (const row of problems) {
	test(`parsePolicy refuses ${row.title}`, t => {
		t.deepEqual(parsePolicy(row.value), {ok: false, problems: row.problems});
	});
}

test('parsePolicy reads a full rule into its compiled form', t => {
	const parsed = parsePolicy({rules: [{
		name: 'full',
		effect: 'allow',
		callers: ['alice@ops'],
		scripts: ['tail-log'],
		args: {forbid: ['--force'], positions: [{enum: ['a', 'b']}, {pattern: '[0-9]+'}], maxCount: 2},
		window: {days: ['Mon', 'friday'], hours: '22:30-06:15', timeZone: 'Europe/London'},
		rate: {perCaller: '10/30s', perScript: '100/1d'},
	}, {name: 'bare', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: []}}]});
	t.deepEqual(parsed, {ok: true, policy: {rules: [{
		name: 'full',
		effect: 'allow',
		callers: ['alice@ops'],
		scripts: ['tail-log'],
		forbid: ['--force'],
		positions: [{enum: ['a', 'b']}, {pattern: /^(?:[0-9]+)$/u, source: '[0-9]+'}],
		maxCount: 2,
		window: {timeZone: 'Europe/London', days: [1, 5], from: 1350, to: 375},
		rate: {perCaller: {count: 10, windowMs: 30_000}, perScript: {count: 100, windowMs: 86_400_000}},
	}, {name: 'bare', effect: 'deny', callers: ['*'], scripts: ['*']}]}});
});

test('an empty policy denies everything', t => {
	t.deepEqual(evaluate(policyOf({rules: []}), {caller: 'root@ops', script: 'uptime', args: []}, new Date(wednesday), {}), refused('no rule allows root@ops to run uptime'));
});

test('a deny rule with no condition denies whatever the arguments', t => {
	const denyAll = policyOf({rules: [{name: 'allow', effect: 'allow', callers: ['*'], scripts: ['*']}, {name: 'off', effect: 'deny', callers: ['*'], scripts: ['reboot']}]});
	t.deepEqual(evaluate(denyAll, {caller: 'alice@ops', script: 'reboot', args: []}, new Date(wednesday), {}), deniedBy('off'));
	t.deepEqual(evaluate(denyAll, {caller: 'alice@ops', script: 'uptime', args: []}, new Date(wednesday), {}), allowedBy('allow'));
});

test('a deny rule with a flag and a window denies only when both hold', t => {
	const both = policyOf({rules: [
		{name: 'allow', effect: 'allow', callers: ['*'], scripts: ['*']},
		{name: 'no-weekend-force', effect: 'deny', callers: ['*'], scripts: ['*'], args: {forbid: ['--force']}, window: {days: ['sat', 'sun'], timeZone: 'Europe/London'}},
	]});
	const saturday = new Date('2026-01-17T12:00:00.000Z');
	t.deepEqual(evaluate(both, {caller: 'a', script: 's', args: ['--force']}, saturday, {}), deniedBy('no-weekend-force', '"--force" (forbidden: --force)'));
	t.deepEqual(evaluate(both, {caller: 'a', script: 's', args: []}, saturday, {}), allowedBy('allow'));
	t.deepEqual(evaluate(both, {caller: 'a', script: 's', args: ['--force']}, new Date(wednesday), {}), allowedBy('allow'));
});

test('the first allow rule that fits wins; the reason names the first that applied but did not fit', t => {
	const two = policyOf({rules: [
		{name: 'narrow', effect: 'allow', callers: ['*'], scripts: ['s'], args: {positions: [{enum: ['a']}]}},
		{name: 'office', effect: 'allow', callers: ['*'], scripts: ['s'], window: {hours: '08:00-09:00', timeZone: 'UTC'}},
		{name: 'wide', effect: 'allow', callers: ['*'], scripts: ['s'], args: {maxCount: 1}},
	]});
	t.deepEqual(evaluate(two, {caller: 'x', script: 's', args: ['a']}, new Date(wednesday), {}), allowedBy('narrow'));
	t.deepEqual(evaluate(two, {caller: 'x', script: 's', args: ['b']}, new Date(wednesday), {}), allowedBy('wide'));
	t.deepEqual(evaluate(two, {caller: 'x', script: 's', args: ['b', 'c']}, new Date(wednesday), {}), refused('rule "narrow" does not allow it: argument 1 "b" is not one of "a"'));
});
