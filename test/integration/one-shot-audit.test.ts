/**
 * A one-shot `xi-exec run SCRIPT --on ONE` writes its controller records in two batches: the
 * request with its checkpoint before anything is dialled, then the outcome with the closing
 * checkpoint (asked together, core/run-execute.ts `closesAudit`). Over a real agent and the built
 * CLI: the records are all there, in order and chained, `audit verify --cross` agrees with the
 * agent's log, and the anchor names the closing checkpoint; killed (SIGKILL) in the middle of its
 * run, the CLI leaves the request and its checkpoint, no lock directory, a log that verifies, and
 * the next one-shot continues the chain. And through the executor itself: the last outcome and
 * the closing checkpoint are one write and one fsync of the log.
 */
import {existsSync, readFileSync} from 'node:fs';
import {X509Certificate} from 'node:crypto';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerAnchorPath} from '../../source/audit/controller-log.js';
import {openAuditLog} from '../../source/audit/file-log.js';
import {signerFromPem} from '../../source/audit/checkpoint.js';
import {readAuditRecords} from '../../source/audit/read-log.js';
import type {AuditRecord} from '../../source/audit/record.js';
import {executePlan} from '../../source/core/run-execute.js';
import {resolvePlan} from '../../source/core/run-plan.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import {recordingFs} from '../io/recording-fs.js';
import {controllerCli, createController, enrolAgent, freePort, installFixture, runCli, spawnCli, startAgent, waitFor} from '../helpers/fleet.js';

async function oneAgent(t: {teardown: (fn: () => Promise<void>) => void}) {
	const home = await createController();
	const agent = await enrolAgent(home, {name: 'web1', port: freePort(), scripts: {hello: installFixture('hello.sh'), slow: installFixture('sleep-then-echo.sh')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	return {home, agent, env: {XI_EXEC_HOME: home}, log: controllerPaths(home).auditLog};
}

/** The records from the first run.request on (init may have written some before). */
function runRecords(log: string): AuditRecord[] {
	const records = readAuditRecords(log);
	return records.slice(records.findIndex(record => record.event === 'run.request'));
}

function chained(records: readonly AuditRecord[]): boolean {
	return records.every((record, index) => index === 0 || (record.prev === records[index - 1]!.hash && record.seq === records[index - 1]!.seq + 1));
}

test('a one-shot leaves its request, checkpoint, outcome and closing checkpoint, chained, verified and anchored', async t => {
	const {agent, env, log, home} = await oneAgent(t);
	const run = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], env);
	t.is(run.code, 0, run.stderr);
	const records = runRecords(log);
	t.deepEqual(records.map(record => record.event), ['run.request', 'checkpoint', 'run.outcome', 'checkpoint']);
	t.true(chained(records));
	t.like(records[2], {requestId: records[0]!['requestId'], agent: 'web1', status: 'ok'});
	t.is(records[3]!['size'], records[3]!.seq, 'the closing checkpoint covers every record before it');
	const anchor = JSON.parse(readFileSync(controllerAnchorPath(controllerPaths(home)), 'utf8')) as {seq: number; hash: string};
	t.deepEqual([anchor.seq, anchor.hash], [records[3]!.seq, records[3]!.hash]);
	t.false(existsSync(`${log}.lock`));
	const verify = await runCli(controllerCli, ['audit', 'verify', '--cross', agentPaths(agent.home).auditLog], env);
	t.is(verify.code, 0, verify.stdout + verify.stderr);
});

test('a one-shot killed in the middle of its run leaves the request and its checkpoint, no lock, and the next one continues the chain', async t => {
	const {agent, env, log} = await oneAgent(t);
	const cli = spawnCli(controllerCli, ['run', 'slow', '--on', 'web1', '--', '30'], env);
	await waitFor(() => (cli.output().stdout.includes('started') ? true : undefined), 'the script to start');
	cli.child.kill('SIGKILL');
	await cli.done;
	const cut = runRecords(log);
	t.deepEqual(cut.map(record => record.event), ['run.request', 'checkpoint']);
	t.true(chained(cut));
	t.false(existsSync(`${log}.lock`), 'no lock is held across the run');
	const verifyCut = await runCli(controllerCli, ['audit', 'verify'], env);
	t.is(verifyCut.code, 0, verifyCut.stdout + verifyCut.stderr);

	const next = await runCli(controllerCli, ['run', 'hello', '--on', 'web1'], env);
	t.is(next.code, 0, next.stderr);
	const records = runRecords(log);
	t.deepEqual(records.map(record => record.event), ['run.request', 'checkpoint', 'run.request', 'checkpoint', 'run.outcome', 'checkpoint']);
	t.true(chained(records));
	t.not(records[2]!['requestId'], records[0]!['requestId']);
	const verify = await runCli(controllerCli, ['audit', 'verify', '--cross', agentPaths(agent.home).auditLog], env);
	t.is(verify.code, 0, verify.stdout + verify.stderr);
	t.regex(verify.stdout, /cross: ok/);
});

test('closesAudit: the last outcome and the closing checkpoint are one write and one fsync of the log', async t => {
	const {home, log} = await oneAgent(t);
	const paths = controllerPaths(home);
	const credentials = loadControllerCredentials(paths);
	const writesWith = async (closesAudit: boolean): Promise<string[]> => {
		const fs = recordingFs();
		const audit = openAuditLog({path: log, side: 'controller', signer: signerFromPem('test', readFileSync(paths.auditKey, 'utf8')), fs});
		const ports = {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(credentials), controllerSerial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)};
		const plan = await resolvePlan(ports, {script: 'hello', args: [], on: ['web1'], parallel: 4, timeoutSeconds: 30, dryRun: false, caller: 'test@here'});
		const outcome = await (await executePlan(ports, plan, {closesAudit})).outcome;
		t.deepEqual(outcome.summary.counts, {ok: 1});
		await audit.close();
		await ports.context.close();
		return fs.calls.filter(call => /^(write|fsync) fd$/.test(call));
	};

	t.deepEqual(await writesWith(true), ['write fd', 'fsync fd', 'write fd', 'fsync fd'], 'request + checkpoint; outcome + closing checkpoint');
	t.deepEqual(await writesWith(false), ['write fd', 'fsync fd', 'write fd', 'fsync fd', 'write fd', 'fsync fd'], 'without: the closing checkpoint alone at close');
});
