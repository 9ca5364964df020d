import {readFileSync} from 'node:fs';
import test from 'ava';
import {errorCodes, isXiError, XiError, type ErrorCode} from '../source/errors.js';

const codes = Object.keys(errorCodes) as ErrorCode[];

test('every code has a summary, an exit status and an HTTP status', t => {
	t.true(codes.length > 0);
	for (const code of codes) {
		const {exit, http, summary} = errorCodes[code];
		t.regex(code, /^[A-Z]+(?:_[A-Z]+)*$/, code);
		t.true(exit === 1 || exit === 2 || (code === 'APPROVAL_PENDING' && exit === 3), `${code} exits ${exit}`);
		t.true(http >= 400 && http <= 599, `${code} answers ${http}`);
		t.regex(summary, /^[A-Z`].*\.$/, `${code}: ${summary}`);
	}
});

test('usage and input mistakes are client errors; bugs and protocol breaks are not', t => {
	t.is(errorCodes.USAGE.http, 400);
	t.is(errorCodes.ARGS_INVALID.http, 400);
	t.is(errorCodes.AGENT_UNKNOWN.http, 404);
	t.is(errorCodes.AGENT_EXISTS.http, 409);
	t.is(errorCodes.PROTOCOL.http, 502);
	t.is(errorCodes.INTERNAL.http, 500);
});

test('XiError keeps its code, message and cause, and maps to its statuses', t => {
	const cause = new Error('EACCES');
	const error = new XiError('AGENT_EXISTS', 'An agent named web1 is already paired.', {cause});
	t.true(error instanceof Error);
	t.is(error.name, 'XiError');
	t.is(error.code, 'AGENT_EXISTS');
	t.is(error.message, 'An agent named web1 is already paired.');
	t.is(error.cause, cause);
	t.is(error.exitStatus, 2);
	t.is(error.httpStatus, 409);
	t.true(error.stack?.startsWith('XiError: An agent named web1 is already paired.'));
});

test('isXiError tells our errors from the rest', t => {
	t.true(isXiError(new XiError('INTERNAL', 'bug')));
	t.false(isXiError(new Error('plain')));
	t.false(isXiError({name: 'XiError', code: 'USAGE', message: 'duck'}));
	t.false(isXiError(undefined));
});

test('the README\'s error table lists every code with its exit status, and no other code', t => {
	const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
	const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d) \|/gm)].map(([, code, exit]) => `${code} ${exit}`);
	t.deepEqual(rows.sort(), codes.map(code => `${code} ${errorCodes[code].exit}`).sort());
});
