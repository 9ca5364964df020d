import test from 'ava';
import {decodeRequest, decodeResponse, type ProtocolError} from '../../source/protocol/decode.js';
import {encodeFrame} from '../../source/protocol/encode.js';
import {limits} from '../../source/protocol/frames.js';

const id = 'req-0001abcd';
const msg = 'msg-0001abcd';
const ts = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A run request as JSON text; a field given as undefined is left out of the frame. */
function runLine(fields: Record<string, unknown> = {}): string {
	return JSON.stringify({v: 1, type: 'run', id, msg, ts, script: 'uptime', args: [], caller: 'alice', ...fields});
}

/** `depth` arrays, each inside the last: nest(1) is `[]`, nest(2) is `[[]]`. */
function nest(depth: number): string {
	return '['.repeat(depth) + ']'.repeat(depth);
}

/** The message V8 gives for text that is not JSON, as decode wraps it. */
function notJson(text: string): string {
	try {
		JSON.parse(text);
	} catch (error) {
		return `not JSON (${(error as Error).message})`;
	}

	throw new Error(`${text} is JSON`);
}

type Refusal = {title: string; line: string; error: ProtocolError};

const malformed = (message: string, errorId = id): ProtocolError => ({code: 'malformed', message, id: errorId});

const requestRefusals: Refusal[] = [
	{title: 'not JSON', line: 'run uptime', error: malformed(notJson('run uptime'), '-')},
	{title: 'a lone surrogate in an argument', line: runLine({args: ['ok', 'a\uD800']}), error: malformed('a string in the frame is not well-formed Unicode (a lone surrogate)')},
	{title: 'a lone surrogate in the script name', line: runLine({script: 'uptime\uDC00'}), error: malformed('a string in the frame is not well-formed Unicode (a lone surrogate)')},
	{title: 'a lone surrogate in the caller', line: runLine({caller: 'alice\uD800'}), error: malformed('a string in the frame is not well-formed Unicode (a lone surrogate)')},
	{title: 'an empty line', line: '', error: malformed(notJson(''), '-')},
	{title: 'a JSON array', line: `[${runLine()}]`, error: malformed('a frame must be a JSON object', '-')},
	{title: 'JSON null', line: 'null', error: malformed('a frame must be a JSON object', '-')},
	{title: 'a JSON string', line: '"run"', error: malformed('a frame must be a JSON object', '-')},
	{title: 'a missing id', line: runLine({id: undefined}), error: malformed('field "id" must be a request id', '-')},
	{title: 'an id too short', line: runLine({id: 'req-1'}), error: malformed('field "id" must be a request id', '-')},
	{title: 'an id with a space', line: runLine({id: 'req 0001abcd'}), error: malformed('field "id" must be a request id', '-')},
	{title: 'an id with a newline', line: runLine({id: 'req-0001abcd\n'}), error: malformed('field "id" must be a request id', '-')},
	{title: 'a numeric id', line: runLine({id: 1_234_567_890}), error: malformed('field "id" must be a request id', '-')},
	{title: 'an id of 65 characters', line: runLine({id: 'r'.repeat(65)}), error: malformed('field "id" must be a request id', '-')},
	{title: 'v: 2', line: runLine({v: 2}), error: {code: 'unsupported-version', message: 'protocol version 2 is not supported (this side speaks 1)', id}},
	{title: 'v missing', line: runLine({v: undefined}), error: {code: 'unsupported-version', message: 'protocol version undefined is not supported (this side speaks 1)', id}},
	{title: 'v as a string', line: runLine({v: '1'}), error: {code: 'unsupported-version', message: 'protocol version "1" is not supported (this side speaks 1)', id}},
	{title: 'v checked before a bad id', line: runLine({v: 0, id: 'x'}), error: {code: 'unsupported-version', message: 'protocol version 0 is not supported (this side speaks 1)', id: '-'}},
	{title: 'an unknown type', line: runLine({type: 'shell'}), error: {code: 'unknown-type', message: 'unknown request type "shell"', id}},
	{title: 'a missing type', line: runLine({type: undefined}), error: {code: 'unknown-type', message: 'unknown request type undefined', id}},
	{title: 'a response type sent as a request', line: runLine({type: 'result'}), error: {code: 'unknown-type', message: 'unknown request type "result"', id}},
	{
		title: 'a frame over the size limit',
		line: runLine({args: ['x'.repeat(limits.requestFrameBytes)]}),
		error: {code: 'too-large', message: `frame is larger than ${limits.requestFrameBytes} bytes`, id: '-'},
	},
	{
		title: 'a frame over the size limit in UTF-8 bytes, not in characters',
		line: runLine({args: ['é'.repeat(limits.requestFrameBytes / 2)]}),
		error: {code: 'too-large', message: `frame is larger than ${limits.requestFrameBytes} bytes`, id: '-'},
	},
	{
		title: 'a nested __proto__ key',
		line: runLine({extra: 'PLACEHOLDER'}).replace('"PLACEHOLDER"', '{"a":[{"__proto__":{"isAdmin":true}}]}'),
		error: malformed('forbidden key "__proto__"', '-'),
	},
	{title: 'a top-level __proto__ key', line: runLine().replace('{', '{"__proto__":{"v":1},'), error: malformed('forbidden key "__proto__"', '-')},
	{title: 'a constructor key', line: runLine({constructor: {prototype: {isAdmin: true}}}), error: malformed('forbidden key "constructor"', '-')},
	{title: 'a nested prototype key', line: runLine({extra: {prototype: 1}}), error: malformed('forbidden key "prototype"', '-')},
	{
		title: 'nesting deeper than the limit',
		line: runLine({extra: 'PLACEHOLDER'}).replace('"PLACEHOLDER"', nest(limits.depth)),
		error: malformed(`nested deeper than ${limits.depth} levels`, '-'),
	},
	{title: 'a missing msg', line: runLine({msg: undefined}), error: malformed('field "msg" must be a message id')},
	{title: 'a bad msg', line: runLine({msg: 'm'}), error: malformed('field "msg" must be a message id')},
	{title: 'a missing ts', line: runLine({ts: undefined}), error: malformed('field "ts" must be a timestamp in milliseconds')},
	{title: 'a ts as a string', line: runLine({ts: String(ts)}), error: malformed('field "ts" must be a timestamp in milliseconds')},
	{title: 'a fractional ts', line: runLine({ts: ts + 0.5}), error: malformed('field "ts" must be a timestamp in milliseconds')},
	{title: 'a script that is not a string', line: runLine({script: ['uptime']}), error: malformed('field "script" must be a string')},
	{title: 'args not strings', line: runLine({args: ['a', 1]}), error: malformed('field "args" must be an array of strings')},
	{title: 'args with null', line: runLine({args: [null]}), error: malformed('field "args" must be an array of strings')},
	{title: 'args as one string', line: runLine({args: 'a b'}), error: malformed('field "args" must be an array of strings')},
	{title: 'args as an object', line: runLine({args: {0: 'a', length: 1}}), error: malformed('field "args" must be an array of strings')},
	{title: 'args missing', line: runLine({args: undefined}), error: malformed('field "args" must be an array of strings')},
	{title: 'a NUL in caller', line: runLine({caller: 'alice\u0000root'}), error: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a caller one character over 1024 (the agent hands it to the script as XI_EXEC_CALLER)', line: runLine({caller: 'a'.repeat(1025)}), error: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a caller of 60,000 characters (a frame within the size limit)', line: runLine({caller: 'a'.repeat(60_000)}), error: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a missing caller', line: runLine({caller: undefined}), error: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a NUL in a cancel\'s caller', line: runLine({type: 'cancel', caller: '\u0000'}), error: malformed('field "caller" must be a string of at most 1024 characters without NUL')},
	{title: 'a timeoutMs of zero', line: runLine({timeoutMs: 0}), error: malformed('field "timeoutMs" must be a positive integer')},
	{title: 'a negative timeoutMs', line: runLine({timeoutMs: -5}), error: malformed('field "timeoutMs" must be a positive integer')},
	{title: 'a fractional timeoutMs', line: runLine({timeoutMs: 1.5}), error: malformed('field "timeoutMs" must be a positive integer')},
	{title: 'a timeoutMs as a string', line: runLine({timeoutMs: '1000'}), error: malformed('field "timeoutMs" must be a positive integer')},
	{title: 'an entryDigest that is not hex', line: runLine({entryDigest: 'z'.repeat(64)}), error: malformed('field "entryDigest" must be a SHA-256 hex digest')},
	{title: 'an entryDigest too short', line: runLine({entryDigest: 'a'.repeat(63)}), error: malformed('field "entryDigest" must be a SHA-256 hex digest')},
	{title: 'an entryDigest in upper case', line: runLine({entryDigest: 'A'.repeat(64)}), error: malformed('field "entryDigest" must be a SHA-256 hex digest')},
	{title: 'an entryDigest of null', line: runLine({entryDigest: null}), error: malformed('field "entryDigest" must be a SHA-256 hex digest')},
	{title: 'dryRun not boolean', line: runLine({dryRun: 'yes'}), error: malformed('field "dryRun" must be a boolean')},
	{title: 'dryRun as a number', line: runLine({dryRun: 1}), error: malformed('field "dryRun" must be a boolean')},
	{title: 'dryRun null', line: runLine({dryRun: null}), error: malformed('field "dryRun" must be a boolean')},
	{title: 'a callerSource with a newline', line: runLine({callerSource: '10.0.0.1\nforged'}), error: malformed('field "callerSource" must be an address of at most 256 printable characters')},
	{title: 'a callerSource with an escape', line: runLine({callerSource: '\u001b[2J'}), error: malformed('field "callerSource" must be an address of at most 256 printable characters')},
	{title: 'a callerSource over 256 characters', line: runLine({callerSource: '1'.repeat(257)}), error: malformed('field "callerSource" must be an address of at most 256 printable characters')},
	{title: 'a callerSource that is a number', line: runLine({callerSource: 10}), error: malformed('field "callerSource" must be an address of at most 256 printable characters')},
	{title: 'a client with a newline', line: runLine({client: 'claude 1.0\n{"forged":1}'}), error: malformed('field "client" must be at most 256 printable characters')},
	{title: 'a client with an escape', line: runLine({client: '\u001b]0;owned\u0007'}), error: malformed('field "client" must be at most 256 printable characters')},
	{title: 'a client over 256 characters', line: runLine({client: 'c'.repeat(257)}), error: malformed('field "client" must be at most 256 printable characters')},
	{title: 'a client that is an object', line: runLine({client: {name: 'x'}}), error: malformed('field "client" must be at most 256 printable characters')},
];

test('decodeRequest keeps the caller\'s source address', t => {
	const decoded = decodeRequest(runLine({callerSource: '203.0.113.7', client: 'mcp-inspector 2.12.0 over stdio'}));
	t.true(decoded.ok && decoded.frame.type === 'run' && decoded.frame.callerSource === '203.0.113.7' && decoded.frame.client === 'mcp-inspector 2.12.0 over stdio');
});

for (const c of requestRefusals) {
	test(`decodeRequest refuses ${c.title}`, t => {
		t.deepEqual(decodeRequest(c.line), {ok: false, error: c.error});
	});
}

test('decodeRequest takes a caller of exactly 1024 characters', t => {
	const caller = 'é'.repeat(1024);
	t.like(decodeRequest(runLine({caller})), {ok: true, frame: {type: 'run', caller}});
});

test('decodeRequest accepts nesting exactly at the limit', t => {
	const line = runLine({extra: 'PLACEHOLDER'}).replace('"PLACEHOLDER"', nest(limits.depth - 1));
	t.true(decodeRequest(line).ok);
});

test('decodeRequest accepts a frame of exactly the size limit', t => {
	const base = runLine({args: ['']});
	const line = runLine({args: ['x'.repeat(limits.requestFrameBytes - Buffer.byteLength(base))]});
	t.is(Buffer.byteLength(line), limits.requestFrameBytes);
	t.true(decodeRequest(line).ok);
});

test('decodeRequest returns a run frame with only the fields it knows', t => {
	const decoded = decodeRequest(runLine({args: ['--force', '$(touch /tmp/x)', 'a\nb'], timeoutMs: 5000, dryRun: true, shell: true, env: {PATH: '/tmp'}}));
	t.deepEqual(decoded, {
		ok: true,
		frame: {type: 'run', v: 1, id, msg, ts, script: 'uptime', args: ['--force', '$(touch /tmp/x)', 'a\nb'], caller: 'alice', timeoutMs: 5000, dryRun: true},
	});
});

test('decodeRequest leaves out timeoutMs and dryRun when they are absent', t => {
	const decoded = decodeRequest(runLine());
	t.deepEqual(decoded, {ok: true, frame: {type: 'run', v: 1, id, msg, ts, script: 'uptime', args: [], caller: 'alice'}});
});

test('decodeRequest freezes the args it returns', t => {
	const decoded = decodeRequest(runLine({args: ['a']}));
	if (!decoded.ok || decoded.frame.type !== 'run') {
		t.fail('expected a run frame');
		return;
	}

	t.true(Object.isFrozen(decoded.frame.args));
});

test('decodeRequest decodes describe and cancel', t => {
	t.deepEqual(decodeRequest(JSON.stringify({v: 1, type: 'describe', id, msg, ts})), {ok: true, frame: {type: 'describe', v: 1, id, msg, ts}});
	t.deepEqual(decodeRequest(JSON.stringify({v: 1, type: 'cancel', id, msg, ts, caller: 'bob'})), {ok: true, frame: {type: 'cancel', v: 1, id, msg, ts, caller: 'bob'}});
});

test('decodeRequest reads what encodeFrame writes', t => {
	const frame = {type: 'run' as const, id, msg, ts, script: 'echo-args', args: ['a b', '\u001B[2J', 'é'], caller: 'alice'};
	const line = encodeFrame(frame);
	t.deepEqual(decodeRequest(line.slice(0, -1)), {ok: true, frame: {v: 1, ...frame}});
});

test('decodeRequest and decodeResponse never throw on arbitrary bytes', t => {
	// A fixed linear congruential generator: the same "random" lines on every run.
	let seed = 42;
	const next = () => {
		seed = ((seed * 1_103_515_245) + 12_345) % 2_147_483_648;
		return seed;
	};

	const alphabet = '{}[]":,\\ \u0000v1idtypeu0_-runé\n';
	for (let round = 0; round < 2000; round++) {
		const length = next() % 80;
		let line = '';
		for (let index = 0; index < length; index++) {
			line += alphabet[next() % alphabet.length];
		}

		const request = decodeRequest(line);
		const response = decodeResponse(line);
		t.false(request.ok, line);
		t.false(response.ok, line);
	}
});

const rid = {v: 1, id};
const result = {...rid, type: 'result', status: 'ok', exitCode: 0, signal: null, durationMs: 12, truncated: false, bytes: {stdout: 3, stderr: 0}};
const description = {...rid, type: 'description', agent: {name: 'web1', tags: {env: 'prod'}}, scripts: [{name: 'uptime', description: 'Load', timeoutSeconds: 30}]};

const responseRefusals: Array<{title: string; frame: unknown; error: ProtocolError}> = [
	{title: 'a request type', frame: {...rid, type: 'run'}, error: {code: 'unknown-type', message: 'unknown response type "run"', id}},
	{title: 'output data that is not a string', frame: {...rid, type: 'stdout', data: 5}, error: malformed('field "data" must be a string')},
	{title: 'an ack without found', frame: {...rid, type: 'ack'}, error: malformed('field "found" must be a boolean')},
	{title: 'a result with an unknown status', frame: {...result, status: 'unreachable'}, error: malformed('field "status" must be one of ok, failed, denied, timeout, cancelled, error')},
	{title: 'a result with a fractional exit code', frame: {...result, exitCode: 1.5}, error: malformed('field "exitCode" must be an integer or null')},
	{title: 'a result without an exit code', frame: {...result, exitCode: undefined}, error: malformed('field "exitCode" must be an integer or null')},
	{title: 'a result with a numeric signal', frame: {...result, signal: 9}, error: malformed('field "signal" must be a string or null')},
	{title: 'a result with a negative duration', frame: {...result, durationMs: -1}, error: malformed('fields "durationMs" and "truncated" are required')},
	{title: 'a result without truncated', frame: {...result, truncated: undefined}, error: malformed('fields "durationMs" and "truncated" are required')},
	{title: 'a result without byte counts', frame: {...result, bytes: null}, error: malformed('field "bytes" must hold stdout and stderr byte counts')},
	{title: 'a result with a non-string reason', frame: {...result, reason: 7}, error: malformed('field "reason" must be a string')},
	{title: 'a description with non-string tags', frame: {...description, agent: {name: 'web1', tags: {env: 1}}}, error: malformed('field "agent" must hold a name and tags')},
	{title: 'a description with tags as an array', frame: {...description, agent: {name: 'web1', tags: ['env=prod']}}, error: malformed('field "agent" must hold a name and tags')},
	{title: 'a description whose scripts are not an array', frame: {...description, scripts: {}}, error: malformed('field "scripts" must be an array')},
	{title: 'a description with a script lacking a timeout', frame: {...description, scripts: [{name: 'a', description: ''}]}, error: malformed('each script needs a name, a description and timeoutSeconds')},
	{title: 'an error frame without a message', frame: {...rid, type: 'error', code: 'busy'}, error: malformed('an error frame needs "code" and "message" strings')},
];

for (const c of responseRefusals) {
	test(`decodeResponse refuses ${c.title}`, t => {
		t.deepEqual(decodeResponse(JSON.stringify(c.frame)), {ok: false, error: c.error});
	});
}

test('decodeResponse refuses a frame over its own, larger size limit', t => {
	const small = JSON.stringify({...rid, type: 'stdout', data: 'x'.repeat(limits.requestFrameBytes)});
	t.true(decodeResponse(small).ok);
	const large = JSON.stringify({...rid, type: 'stdout', data: 'x'.repeat(limits.responseFrameBytes)});
	t.deepEqual(decodeResponse(large), {ok: false, error: {code: 'too-large', message: `frame is larger than ${limits.responseFrameBytes} bytes`, id: '-'}});
});

test('decodeResponse decodes a result, keeping a reason', t => {
	t.deepEqual(decodeResponse(JSON.stringify({...result, status: 'denied', exitCode: null, reason: 'not allowlisted', extra: 1})), {
		ok: true,
		frame: {type: 'result', v: 1, id, status: 'denied', exitCode: null, signal: null, durationMs: 12, truncated: false, bytes: {stdout: 3, stderr: 0}, reason: 'not allowlisted'},
	});
});

test('decodeResponse decodes a description, dropping unknown script fields', t => {
	const frame = {...description, scripts: [{name: 'restart', description: 'Restart', timeoutSeconds: 60, args: {type: 'array'}, maxTargets: 2, confirm: true, readOnly: true, path: '/usr/local/bin/restart'}]};
	t.deepEqual(decodeResponse(JSON.stringify(frame)), {
		ok: true,
		frame: {type: 'description', v: 1, id, agent: {name: 'web1', tags: {env: 'prod'}}, scripts: [{name: 'restart', description: 'Restart', timeoutSeconds: 60, args: {type: 'array'}, maxTargets: 2, confirm: true, readOnly: true}]},
	});
});

test('decodeResponse maps an unknown error code to malformed instead of guessing', t => {
	t.deepEqual(decodeResponse(JSON.stringify({...rid, type: 'error', code: 'teapot', message: 'short and stout'})), {
		ok: true,
		frame: {type: 'error', v: 1, id, code: 'malformed', message: 'short and stout'},
	});
	t.deepEqual(decodeResponse(JSON.stringify({...rid, type: 'error', code: 'busy', message: 'agent busy'})), {
		ok: true,
		frame: {type: 'error', v: 1, id, code: 'busy', message: 'agent busy'},
	});
});

test('decodeResponse decodes started, output and ack frames', t => {
	t.deepEqual(decodeResponse(JSON.stringify({...rid, type: 'started'})), {ok: true, frame: {type: 'started', v: 1, id}});
	t.deepEqual(decodeResponse(JSON.stringify({...rid, type: 'stderr', data: 'oops\n'})), {ok: true, frame: {type: 'stderr', v: 1, id, data: 'oops\n'}});
	t.deepEqual(decodeResponse(JSON.stringify({...rid, type: 'ack', found: false})), {ok: true, frame: {type: 'ack', v: 1, id, found: false}});
});
