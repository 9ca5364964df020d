import test from 'ava';
import {errorReport, formatError} from '../../source/cli/main.js';
import {errorCodes, XiError} from '../../source/errors.js';

test('plain mode: one line on stderr, the message and its code; nothing on stdout', t => {
	const report = errorReport(new XiError('NO_TARGETS', '--on zulu matches no registered agent.'));
	t.deepEqual(formatError('xi-exec', report, {json: false, debug: false}), {stdout: '', stderr: 'xi-exec: --on zulu matches no registered agent. (NO_TARGETS)\n'});
});

test('--json: the error as one JSON document on stdout, with a hint (the code\'s summary unless one was given)', t => {
	const plain = formatError('xi-exec', errorReport(new XiError('NO_TARGETS', 'none.')), {json: true, debug: false});
	t.is(plain.stderr, '');
	t.deepEqual(JSON.parse(plain.stdout), {error: {code: 'NO_TARGETS', message: 'none.', hint: errorCodes.NO_TARGETS.summary}});
	const hinted = formatError('xi-exec', errorReport(new XiError('USAGE', 'bad.', {hint: 'xi-exec help run'})), {json: true, debug: false});
	t.deepEqual(JSON.parse(hinted.stdout), {error: {code: 'USAGE', message: 'bad.', hint: 'xi-exec help run'}});
});

test('an unexpected error is INTERNAL, exit 1, with what to do; the stack only with --debug, and on stderr', t => {
	const report = errorReport(new TypeError('x is undefined'));
	t.like(report, {code: 'INTERNAL', message: 'unexpected error: x is undefined', exitStatus: 1});
	t.is(formatError('xi-exec', report, {json: false, debug: false}).stderr, 'xi-exec: unexpected error: x is undefined (INTERNAL)\nRun again with --debug for details, and please report it.\n');
	const debug = formatError('xi-exec', report, {json: true, debug: true});
	t.deepEqual(Object.keys(JSON.parse(debug.stdout).error), ['code', 'message', 'hint']);
	t.regex(debug.stderr, /^TypeError: x is undefined\n\s+at /);
	t.like(errorReport('a string thrown'), {code: 'INTERNAL', message: 'unexpected error: a string thrown'});
});

test('every code\'s exit status reaches the report', t => {
	for (const code of Object.keys(errorCodes) as Array<keyof typeof errorCodes>) {
		t.is(errorReport(new XiError(code, 'm')).exitStatus, errorCodes[code].exit, code);
	}
});
