/**
 * `serve` under idle and slow connections, and its TLS offer. 200 connections that never finish
 * a handshake or never send (or trickle) their request are all cut within a second or so of
 * their deadlines, while a real API call (a run on a real agent) succeeds beside them. The TLS
 * offer is read with a tool we did not write (sslscan, Debian's package; skipped with a reason
 * when missing) and with openssl s_client: TLS 1.3 only by default; with "TLSv1.2" configured,
 * no CBC suite.
 */
import {execFile, execFileSync} from 'node:child_process';
import {promisify} from 'node:util';
import test from 'ava';
import {call, createToken, startApiFleet, type ApiFleet} from './api-fleet.js';
import {openFlood, within} from '../helpers/idle-flood.js';

const run = promisify(execFile);
const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};
const deadlines = {handshakeMs: 2000, headersMs: 2000};
/**
 * How long after its deadline a connection may still be open. Not a speed check (the bench measures
 * time): it tells "cut by the deadline" from the old behaviour (open for 140 s and more) on a shared
 * host whose load reached 30 during a full run, where 4 s of slack failed at 6.8 s. The exact close
 * times are logged.
 */
const slackMs = 20_000;

let fleet: ApiFleet;
let token: string;

test.before(async () => {
	fleet = await startApiFleet([{name: 'web1', scripts: {hello}}], {deadlines});
	token = (await createToken(fleet.paths, 'admin', ['*'], ['all'])).token;
});

test.after.always(async () => {
	await fleet?.close();
});

test.serial('200 idle or slow connections are cut within their deadlines while a real API call succeeds', async t => {
	const flood = openFlood(fleet.port, {'tcp': 50, 'partial-hello': 50, 'tls-idle': 50, 'tls-trickle': 50});
	t.teardown(() => flood.destroy());
	const answer = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', args: ['flood'], on: ['web1']}});
	t.is(answer.status, 200, answer.text);
	t.deepEqual(answer.json().results.map((result: {agent: string; status: string; stdout: string}) => [result.agent, result.status, result.stdout]), [['web1', 'ok', 'hello flood\n']]);
	t.true(flood.openNow() > 0, 'the flood was still open while the call was answered');

	const closed = await within(flood.closed, deadlines.headersMs + 30_000, 'the flood was not cut');
	const latest = Object.fromEntries(['tcp', 'partial-hello', 'tls-idle', 'tls-trickle'].map(kind => [kind, Math.max(...closed.filter(entry => entry.kind === kind).map(entry => entry.afterMs))]));
	t.log('latest close per kind (ms):', latest);
	for (const [kind, afterMs] of Object.entries(latest)) {
		t.true(afterMs <= deadlines.headersMs + slackMs, `${kind}: the last was closed after ${afterMs} ms`);
	}
});

const hasSslscan = (() => {
	try {
		execFileSync('sslscan', ['--version'], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
})();
if (!hasSslscan) {
	console.log('serve-deadlines: sslscan is not installed (apt-get install sslscan); the sslscan checks are skipped');
}

/** sslscan's protocol lines: {"TLSv1.2": "disabled", "TLSv1.3": "enabled", ...}. */
async function sslscanProtocols(port: number): Promise<{protocols: Record<string, string>; ciphers: string[]}> {
	const {stdout} = await run('sslscan', ['--no-colour', '--no-heartbleed', '--no-compression', '--no-renegotiation', '--no-groups', `127.0.0.1:${port}`], {timeout: 60_000});
	const protocols = Object.fromEntries([...stdout.matchAll(/^(SSLv\d|TLSv1\.\d)\s+(enabled|disabled)$/gm)].map(match => [match[1]!, match[2]!]));
	const ciphers = [...stdout.matchAll(/^(?:Preferred|Accepted)\s+(TLSv1\.\d)\s+\d+ bits\s+(\S+)/gm)].map(match => `${match[1]} ${match[2]}`);
	return {protocols, ciphers};
}

(hasSslscan ? test.serial : test.serial.skip)('sslscan: serve offers TLS 1.3 only, by default', async t => {
	const {protocols, ciphers} = await sslscanProtocols(fleet.port);
	t.like(protocols, {'SSLv2': 'disabled', 'SSLv3': 'disabled', 'TLSv1.0': 'disabled', 'TLSv1.1': 'disabled', 'TLSv1.2': 'disabled', 'TLSv1.3': 'enabled'});
	t.true(ciphers.length > 0);
	t.true(ciphers.every(cipher => cipher.startsWith('TLSv1.3 ')), ciphers.join(', '));
});

test.serial('openssl s_client: a TLS 1.2 client is refused by default, a TLS 1.3 client is answered', async t => {
	const connect = async (version: string) => run('openssl', ['s_client', '-connect', `127.0.0.1:${fleet.port}`, version, '-brief'], {timeout: 30_000}).then(({stdout, stderr}) => ({ok: true, text: stdout + stderr}), (error: {stdout?: string; stderr?: string}) => ({ok: false, text: `${error.stdout ?? ''}${error.stderr ?? ''}`}));
	const old = await connect('-tls1_2');
	t.false(old.ok, old.text);
	t.regex(old.text, /alert protocol version|no protocols available|unsupported protocol/i);
	const current = await connect('-tls1_3');
	t.regex(current.text, /Protocol version: TLSv1\.3/);
});

(hasSslscan ? test.serial : test.serial.skip)('sslscan: with "TLSv1.2" configured, TLS 1.2 is offered with AEAD suites only (no CBC)', async t => {
	const older = await startApiFleet([], {tlsMinVersion: 'TLSv1.2'});
	t.teardown(async () => older.close());
	const {protocols, ciphers} = await sslscanProtocols(older.port);
	t.like(protocols, {'TLSv1.0': 'disabled', 'TLSv1.1': 'disabled', 'TLSv1.2': 'enabled', 'TLSv1.3': 'enabled'});
	const tls12 = ciphers.filter(cipher => cipher.startsWith('TLSv1.2 '));
	t.true(tls12.length > 0);
	t.deepEqual(tls12.filter(cipher => !/GCM|CHACHA20/.test(cipher) || /CBC|SHA1$|-SHA$/.test(cipher)), []);
});
