/** Header checks, scope helpers, the error shape and the event replay. */
import test from 'ava';
import {describeValidation, errorAnswer} from '../../source/api/error-answer.js';
import {bearerToken, isFullScope, isJsonMediaType, tokenInQuery} from '../../source/api/request-checks.js';
import {reachProblem} from '../../source/policy/tokens.js';
import {formatSse} from '../../source/api/run-events.js';
import {replayHistory} from '../../source/api/run-replay.js';
import {XiError} from '../../source/errors.js';

test('only application/json (with at most charset=utf-8) is a JSON media type', t => {
	for (const type of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"']) {
		t.true(isJsonMediaType(type), type);
	}

	for (const type of [undefined, '', 'text/plain', 'application/json5', 'application/jsonp', 'application/json,text/plain', 'application/json; charset=utf-16', 'application/json; boundary=x', 'application/json;', ' application/json', 'application/json\u0000', 'application/vnd.api+json', 'application / json']) {
		t.false(isJsonMediaType(type), String(type));
	}
});

test('a bearer token comes from "Bearer TOKEN" only', t => {
	t.deepEqual(bearerToken('Bearer xie_abc-_'), {ok: true, token: 'xie_abc-_'});
	t.deepEqual(bearerToken('bearer xie_abc'), {ok: true, token: 'xie_abc'});
	for (const header of [undefined, '', 'Basic eDp5', 'Bearer', 'Bearer a b', 'Token xie_abc', `Bearer ${'a'.repeat(300)}`]) {
		t.false(bearerToken(header).ok, String(header));
	}

	t.is(tokenInQuery({token: 'x'}), 'token');
	t.is(tokenInQuery({ACCESS_TOKEN: 'x'}), 'ACCESS_TOKEN');
	t.is(tokenInQuery({on: ['all']}), undefined);
});

const scope = {id: 'i', name: 'n', scripts: ['a'], on: ['site=london'], expiresAt: null};

test('full scope and reach', t => {
	t.false(isFullScope(scope));
	t.true(isFullScope({...scope, scripts: ['*'], on: ['all']}));
	t.false(isFullScope({...scope, scripts: ['*'], on: ['site=london', 'web1']}));
	// A scope that takes agents away from all is not everything: it may not manage tokens or read the audit trail.
	t.false(isFullScope({...scope, scripts: ['*'], on: ['all', '!db1']}));
	t.false(isFullScope({...scope, scripts: ['*'], on: ['!db1', 'all']}));
	t.is(reachProblem(scope, [{name: 'web1', tags: {site: 'london'}}]), undefined);
	t.regex(reachProblem(scope, [{name: 'web1', tags: {site: 'london'}}, {name: 'web2', tags: {site: 'paris'}}]) ?? '', /may not reach web2/);
	t.is(reachProblem(scope, []), undefined);
});

test('errors keep one shape with a registry code; validation errors name the field', t => {
	t.deepEqual(errorAnswer(new XiError('OUT_OF_SCOPE', 'no.')), {status: 403, body: {error: {code: 'OUT_OF_SCOPE', message: 'no.'}}});
	t.deepEqual(errorAnswer(new Error('boom')), {status: 500, body: {error: {code: 'INTERNAL', message: 'Internal error; the server\'s log has the details.'}}});
	t.is(errorAnswer(Object.assign(new Error('x'), {code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413})).status, 413);
	t.is(describeValidation('body', [{instancePath: '/args/2', keyword: 'type', message: 'must be string'}]), 'body field args[2] must be string.');
	t.is(describeValidation('body', [{instancePath: '/agent', keyword: 'required', params: {missingProperty: 'name'}}]), 'body field agent.name is required.');
	t.is(describeValidation('querystring', [{instancePath: '', keyword: 'additionalProperties', params: {additionalProperty: 'x'}}]), 'query parameter x is not allowed.');
	t.is(describeValidation('body', [{instancePath: '', keyword: 'type', message: 'must be object'}]), 'the body must be object.');
});

test('a stored run replays as events; an SSE message is one event', t => {
	const lines = [
		JSON.stringify({type: 'run', requestId: 'r-0000001', script: 's', args: ['a'], selector: ['all'], caller: 'c', startedAt: 't', targets: ['web1', 'web2']}),
		JSON.stringify({type: 'output', agent: 'web1', stream: 'stdout', data: 'one\n'}),
		JSON.stringify({type: 'output', agent: 'web1', stream: 'stderr', data: 'err\n'}),
		JSON.stringify({type: 'result', result: {agent: 'web1', status: 'ok', exitCode: 0, signal: null, truncated: false, durationMs: 5}}),
		'{"type":"output","agent":"web2","str',
	];
	const events = replayHistory(lines);
	t.deepEqual(events.map(event => event.type), ['run-started', 'agent-output', 'agent-output', 'agent-finished'], 'no run-finished: the run never ended');
	t.like(events[3], {type: 'agent-finished', result: {agent: 'web1', stdout: 'one\n', stderr: 'err\n'}});
	t.is(replayHistory([...lines.slice(0, 4), JSON.stringify({type: 'end', endedAt: 't'})]).at(-1)?.type, 'run-finished');
	t.is(formatSse({type: 'agent-output', agent: 'web1', stream: 'stdout', data: 'a\nb'}, '3.1'), 'id: 3.1\nevent: agent-output\ndata: {"type":"agent-output","agent":"web1","stream":"stdout","data":"a\\nb"}\n\n');
});
