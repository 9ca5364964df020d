/* eslint-disable @typescript-eslint/no-explicit-any -- the parsed families are read loosely. */
/**
 * The agent's opt-in loopback /metrics: a real agent process with `"metrics": "127.0.0.1:0"`, a
 * known sequence of runs from the real controller CLI (two runs of hello, one of a script that
 * fails, a dry run, a script the agent does not have, a connection without a certificate), then
 * GET /metrics parsed by parse-prometheus-text-format (a parser we did not write): each value is
 * what that sequence makes, and no label or value carries an argument. Only GET /metrics answers;
 * the address must be a loopback literal, or the agent refuses to start and says why.
 */
import {request as httpRequest} from 'node:http';
import {connect} from 'node:net';
import {readFileSync, writeFileSync} from 'node:fs';
import test from 'ava';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {agentPaths} from '../../agent/home.js';
import {parseLoopbackAddress} from '../../agent/metrics/loopback-address.js';
import {validityDays} from '../../source/pki/issue.js';
import {eventually} from '../api/api-fleet.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, waitFor} from '../helpers/fleet.js';

const secretArgument = 'argument-that-must-not-appear';

function get(port: number, path: string, method = 'GET'): Promise<{status: number; type: string; text: string}> {
	return new Promise((resolve, reject) => {
		const request = httpRequest({host: '127.0.0.1', port, path, method, agent: false}, response => {
			let text = '';
			response.setEncoding('utf8');
			response.on('data', (chunk: string) => (text += chunk));
			response.on('end', () => resolve({status: response.statusCode ?? 0, type: String(response.headers['content-type']), text}));
		});
		request.on('error', reject);
		request.end();
	});
}

function value(families: any[], name: string, labels: Record<string, string> = {}): number | undefined {
	const family = families.find(item => item.name === name);
	const sample = family?.metrics.find((item: any) => Object.entries(labels).every(([key, expected]) => item.labels?.[key] === expected));
	return sample === undefined ? undefined : Number(sample.value ?? sample.count);
}

function withMetrics(home: string, metrics: unknown): void {
	const path = agentPaths(home).config;
	writeFileSync(path, JSON.stringify({...JSON.parse(readFileSync(path, 'utf8')), metrics}));
}

test('after a known sequence of runs, refusals and a bad connection, the agent\'s /metrics says so', async t => {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort(), scripts: {
		hello: installScript('hello', '#!/bin/sh\necho "hello $*"\n'),
		fail: installScript('fail', '#!/bin/sh\nexit 3\n'),
	}});
	withMetrics(agent.home, '127.0.0.1:0');
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	const listening = await waitFor(() => running.lines.map(line => JSON.parse(line) as Record<string, unknown>).find(line => line['event'] === 'metrics.listening'), 'the metrics.listening line');
	t.like(listening, {level: 'info', path: '/metrics'});
	const port = Number(/^127\.0\.0\.1:(\d+)$/.exec(String(listening['address']))?.[1]);
	t.true(port > 0, String(listening['address']));

	const run = async (args: string[]) => runCli(controllerCli, ['run', ...args], {XI_EXEC_HOME: home});
	for (const args of [['hello', '--on', 'web1', '--', 'a'], ['hello', '--on', 'web1', '--', secretArgument]]) {
		const result = await run(args);
		t.is(result.code, 0, result.stderr);
	}

	t.not((await run(['fail', '--on', 'web1'])).code, 0);
	t.is((await run(['hello', '--on', 'web1', '--dry-run'])).code, 0);
	await run(['nosuch', '--on', 'web1']);
	// A connection that never completes a TLS handshake: plain bytes on the fleet port.
	await new Promise<void>(resolve => {
		const socket = connect({host: '127.0.0.1', port: agent.port}, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
		socket.on('close', () => resolve());
		socket.on('error', () => resolve());
	});

	// The refused connection is logged when the agent gives up on it: scrape until it is counted.
	let text = '';
	const families = await eventually(async () => {
		const answer = await get(port, '/metrics');
		t.is(answer.status, 200);
		t.regex(answer.type, /^text\/plain; version=0\.0\.4/);
		t.false(answer.text.includes(secretArgument), 'no argument in the metrics');
		text = answer.text;
		const parsed: any[] = parsePrometheusTextFormat(answer.text);
		return (value(parsed, 'xi_exec_agent_tls_refused_total') ?? 0) >= 1 ? parsed : undefined;
	}, 'the refused connection to be counted');

	t.is(value(families, 'xi_exec_agent_requests_total', {script: 'hello'}), 3);
	t.is(value(families, 'xi_exec_agent_requests_total', {script: 'unlisted'}), 1, 'a name the allowlist does not have is no label value');
	t.is(value(families, 'xi_exec_agent_refusals_total', {status: 'denied'}), 1);
	t.is(value(families, 'xi_exec_agent_decisions_total', {script: 'hello', allowed: 'true'}), 3);
	t.is(value(families, 'xi_exec_agent_runs_total', {script: 'hello', status: 'ok'}), 2);
	t.is(value(families, 'xi_exec_agent_runs_total', {script: 'fail', status: 'failed'}), 1);
	// parse-prometheus-text-format 1.1.1 drops a labelled histogram's labels, _sum and _count (it
	// keys the buckets by the first label): the family is checked by the parser, the count by its line.
	t.is(families.find(family => family.name === 'xi_exec_agent_run_duration_seconds')?.type, 'HISTOGRAM');
	t.regex(text, /^xi_exec_agent_run_duration_seconds_count\{script="hello"\} 2$/m);
	t.regex(text, /^xi_exec_agent_run_duration_seconds_bucket\{le="\+Inf",script="fail"\} 1$/m);
	t.is(value(families, 'xi_exec_agent_runs_running'), 0);
	t.is(value(families, 'xi_exec_agent_tls_refused_total', {reason: 'ERR_SSL_HTTP_REQUEST'}), 1);
	t.is(value(families, 'xi_exec_agent_certificate_expiry_days'), validityDays.agent - 1, 'a fresh 90-day certificate: 89 whole days left');
	t.is(value(families, 'xi_exec_agent_syslog_spool_records'), 0);
	t.true((value(families, 'xi_exec_agent_process_resident_memory_bytes') ?? 0) > 0, 'prom-client\'s default process metrics');
	const labels = families.flatMap(family => family.metrics.flatMap((sample: any) => Object.values(sample.labels ?? {}) as string[]));
	t.false(labels.some(label => label.includes(secretArgument) || label.includes('127.0.0.1')), labels.join(' '));

	t.is((await get(port, '/')).status, 404);
	t.is((await get(port, '/metrics/../')).status, 404);
	t.is((await get(port, '/metrics', 'POST')).status, 405);
});

test('the metrics address must be a loopback literal with a port', t => {
	for (const good of ['127.0.0.1:9464', '127.1.2.3:0', '[::1]:9464']) {
		t.is(typeof parseLoopbackAddress(good), 'object', good);
	}

	for (const [bad, why] of [
		['0.0.0.0:9464', /not a loopback address/],
		['10.0.0.5:9464', /not a loopback address/],
		['[::]:9464', /not a loopback address/],
		['[::ffff:10.0.0.1]:9464', /not a loopback address/],
		['localhost:9464', /not a loopback address/],
		['128.0.0.1:9464', /not a loopback address/],
		['127.0.0.1', /is not HOST:PORT; for example "127\.0\.0\.1:9464"/],
		['127.0.0.1:99999', /out of range/],
	] as const) {
		t.regex(parseLoopbackAddress(bad) as string, why, bad);
	}
});

test('an agent told to serve metrics on a non-loopback address refuses to start and says why', async t => {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web2', port: freePort()});
	for (const metrics of ['0.0.0.0:9464', 9464]) {
		withMetrics(agent.home, metrics);
		const result = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
		t.is(result.code, 2, `${JSON.stringify(metrics)}: ${result.stderr}`);
		t.regex(result.stderr, /"metrics" in .*config\.json: .*(not a loopback address|is not a string).*CONFIG_INVALID/s, result.stderr);
	}
});
