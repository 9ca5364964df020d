/* eslint-disable @typescript-eslint/no-explicit-any -- the parsed families are read loosely. */
/**
 * GET /metrics on a real `serve` in front of real agents, parsed by parse-prometheus-text-format
 * (a parser we did not write, prom2json's output): after a known sequence (two runs of `hello` on
 * web1, one on an agent that is down, a run refused for its token's scope, a pairing recorded by
 * another controller process, and a TLS handshake without the fleet CA), each value is what that
 * sequence makes, and no label value carries an argument or a token. The access log has one JSON
 * line per request with no token; /metrics needs a token unless configured public.
 */
import {connect} from 'node:tls';
import test from 'ava';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {createApiServer} from '../../source/api/server.js';
import {pairingAuditFields} from '../../source/pairing/audit-fields.js';
import {enrolAgent, freePort} from '../helpers/fleet.js';
import {call, createToken, eventually, loadControllerCredentials, loadServerCredentials, startApiFleet, type ApiFleet} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};
const secretArgument = 'argument-that-must-not-be-a-label';
const accessLines: string[] = [];
let fleet: ApiFleet;
let admin: string;
let web1Only: string;

test.before(async () => {
	fleet = await startApiFleet([{name: 'web1', scripts: {hello}}], {accessLog: line => accessLines.push(line)});
	await enrolAgent(fleet.home, {name: 'ghost', port: freePort()});
	admin = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
	web1Only = (await createToken(fleet.paths, 'web1-only', ['hello'], ['web1'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

function value(families: any[], name: string, labels: Record<string, string> = {}): number | undefined {
	const family = families.find(item => item.name === name);
	const sample = family?.metrics.find((item: any) => Object.entries(labels).every(([key, expected]) => item.labels?.[key] === expected));
	return sample === undefined ? undefined : Number(sample.value ?? sample.count);
}

test.serial('after a known sequence of runs, denials, a pairing and a failed handshake, /metrics says so', async t => {
	for (const args of [['a'], [secretArgument]]) {
		const run = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', args, on: ['web1']}});
		t.is(run.status, 200, run.text);
	}

	const down = await call(fleet, 'POST', '/v1/runs', {token: admin, body: {script: 'hello', args: [], on: ['ghost']}});
	t.is(down.status, 200, down.text);
	const refused = await call(fleet, 'POST', '/v1/runs', {token: web1Only, body: {script: 'hello', args: [], on: ['ghost']}});
	t.is(refused.status, 403, refused.text);
	// `xi-exec pair` is another process writing the same audit log.
	const pairing = openControllerAudit(fleet.paths);
	await pairing.append(pairingAuditFields({event: 'paired', ceremony: 'c1', agent: 'new1', serial: 'ab', address: '127.0.0.1:1', tags: {}} as never)!);
	await pairing.close();
	// A client that does not trust the server's certificate: a handshake failure on the server's side.
	await new Promise<void>(resolve => {
		const socket = connect({host: '127.0.0.1', port: fleet.port, rejectUnauthorized: true, minVersion: 'TLSv1.3'});
		socket.on('error', () => resolve());
		socket.on('secureConnect', () => {
			socket.destroy();
			resolve();
		});
	});

	t.is((await call(fleet, 'GET', '/metrics')).status, 401);
	const families = await eventually(async () => {
		const answer = await call(fleet, 'GET', '/metrics', {token: admin});
		t.is(answer.status, 200);
		t.regex(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
		t.false(answer.text.includes(secretArgument));
		t.false(answer.text.includes(admin));
		const parsed = parsePrometheusTextFormat(answer.text);
		return (value(parsed, 'xi_exec_tls_handshake_failures_total') ?? 0) >= 1 ? parsed : undefined;
	}, 'the handshake failure to be counted');

	t.is(value(families, 'xi_exec_runs_total', {script: 'hello'}), 3);
	t.is(value(families, 'xi_exec_host_results_total', {script: 'hello', status: 'ok'}), 2);
	t.is(value(families, 'xi_exec_host_results_total', {script: 'hello', status: 'unreachable'}), 1);
	t.is(value(families, 'xi_exec_unreachable_total', {agent: 'ghost'}), 1);
	// This parser folds a histogram's series into one and drops labels other than le: only web1 has one here.
	const histogram = families.find(family => family.name === 'xi_exec_host_run_duration_seconds');
	t.is(histogram?.type, 'HISTOGRAM');
	t.is(histogram?.metrics.length, 1);
	t.is((histogram?.metrics[0] as any).buckets['+Inf'], '2');
	t.is(value(families, 'xi_exec_denials_total', {reason: 'OUT_OF_SCOPE'}), 1);
	t.is(value(families, 'xi_exec_pairings_total', {outcome: 'paired'}), 1);
	t.true(value(families, 'xi_exec_audit_records_total')! >= 8, 'three requests with checkpoints, three outcomes, a refusal, a pairing');
	t.is(value(families, 'xi_exec_syslog_spool_records'), 0);
	const days = value(families, 'xi_exec_certificate_expiry_days', {agent: 'web1'});
	t.true(days !== undefined && days > 0 && days <= 90, String(days));
	const labelValues = families.flatMap(family => family.metrics.flatMap((sample: any) => Object.values(sample.labels ?? {}) as string[]));
	t.deepEqual(labelValues.filter(label => label.includes(secretArgument) || label.includes('web1-only') || label.includes('api:')), []);
});

test.serial('the access log: one JSON line per request, with route, status, caller, duration and source, never the token', t => {
	const lines = accessLines.map(line => JSON.parse(line) as Record<string, unknown>);
	const scrape = lines.find(line => line['route'] === '/metrics' && line['status'] === 200);
	t.like(scrape, {level: 'info', event: 'request', method: 'GET', caller: 'token:admin', source: '127.0.0.1'});
	t.regex(String(scrape?.['requestId']), /^[0-9a-f-]{36}$/);
	t.is(typeof scrape?.['durationMs'], 'number');
	t.like(lines.find(line => line['status'] === 401), {level: 'warn', caller: 'unauthenticated', route: '/metrics'});
	t.like(lines.find(line => line['status'] === 403), {level: 'warn', caller: 'token:web1-only', route: '/v1/runs', method: 'POST'});
	t.false(accessLines.some(line => line.includes(admin) || line.includes(web1Only) || line.includes(secretArgument)));
	t.deepEqual(Object.keys(scrape ?? {}), ['ts', 'level', 'event', 'requestId', 'caller', 'method', 'route', 'status', 'durationMs', 'source']);
});

test.serial('{"api": {"metricsToken": false}}: /metrics answers without a token', async t => {
	const open = await createApiServer({paths: fleet.paths, server: loadServerCredentials(fleet.paths), client: loadControllerCredentials(fleet.paths), metricsToken: false, log: () => undefined});
	t.teardown(async () => open.close());
	const {port} = await open.listen('127.0.0.1', 0);
	const answer = await call({port, ca: fleet.ca}, 'GET', '/metrics');
	t.is(answer.status, 200, answer.text);
	t.true(parsePrometheusTextFormat(answer.text).some(family => family.name === 'xi_exec_runs_total'));
	t.is((await call({port, ca: fleet.ca}, 'GET', '/v1/agents')).status, 401);
});
