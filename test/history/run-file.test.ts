/**
 * A run's history file keeps one descriptor from its header to its end line (it opened and closed
 * the file for every line, two a host), and lets go of it however the run stops: its end line, a
 * write that fails, a run that fails before it has one (closed by run-execute.ts; a file created
 * after that, by the run's immediate, is closed at once). What is fsynced, and the file's lines,
 * are pinned by test/io/durable-fs.test.ts's run history row.
 */
import {X509Certificate} from 'node:crypto';
import {existsSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {openControllerAudit} from '../../source/audit/controller-log.js';
import {executePlan, type ExecutePorts} from '../../source/core/run-execute.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';
import {historyDirectory, startRunFile} from '../../source/history/run-store.js';
import type {RunHeader} from '../../source/history/run-record.js';
import {controllerPaths, loadControllerCredentials, openControllerRegistry} from '../../source/home.js';
import {normaliseSerial} from '../../source/pki/fingerprints.js';
import type {RegistryStore} from '../../source/registry/store.js';
import {planVersion, type RunPlan} from '../../source/run/plan.js';
import {temporaryDirectory} from '../audit/helpers.js';
import {createController} from '../helpers/fleet.js';
import {recordingFs} from '../io/recording-fs.js';

const requestId = '00000000-0000-4000-8000-000000000001';
const header: RunHeader = {type: 'run', requestId, script: 's', args: [], selector: [], caller: 'c', startedAt: '2026-01-01T00:00:00.000Z', targets: ['a']};
const output = {type: 'output', agent: 'a', stream: 'stdout', data: 'hi\n'} as const;
const end = {type: 'end', endedAt: '2026-01-01T00:00:01.000Z'} as const;

/** How many of this process's descriptors are open on `path`. */
function descriptorsOn(path: string): number {
	return readdirSync('/proc/self/fd').filter(fd => {
		try {
			return readlinkSync(`/proc/self/fd/${fd}`) === path;
		} catch {
			return false;
		}
	}).length;
}

const lineTypes = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => (JSON.parse(line) as {type: string}).type);

test('one descriptor from the header to the end line, none after it, and a line after the end is refused', t => {
	const writer = startRunFile(temporaryDirectory(t), header);
	t.is(descriptorsOn(writer.path), 1);
	for (let line = 0; line < 100; line++) {
		writer.write(output);
	}

	t.is(descriptorsOn(writer.path), 1, 'the same one for every line');
	writer.write(end);
	t.is(descriptorsOn(writer.path), 0);
	t.throws(() => {
		writer.write(output);
	}, {message: `the run history ${writer.path} was written after it was closed`});
	writer.close();
	t.deepEqual(lineTypes(writer.path), ['run', ...Array.from({length: 100}, () => 'output'), 'end']);
});

test('a write that fails closes the descriptor, and close() closes a run that stops without its end line, once', t => {
	const directory = temporaryDirectory(t);
	const fs = recordingFs();
	const failing = startRunFile(directory, header, fs);
	fs.failWrite = true;
	t.throws(() => {
		failing.write(output);
	}, {message: /^only 0 of \d+ bytes were written$/});
	t.is(descriptorsOn(failing.path), 0);
	t.throws(() => {
		failing.write(output);
	}, {message: /was written after it was closed$/});
	failing.close();
	t.is(fs.calls.filter(call => call.startsWith('close 2026')).length, 1, 'closed once');

	fs.failWrite = false;
	const stopped = startRunFile(directory, {...header, requestId: '00000000-0000-4000-8000-000000000002'}, fs);
	stopped.write(output);
	stopped.close();
	stopped.close();
	t.is(descriptorsOn(stopped.path), 0);
	t.deepEqual(lineTypes(stopped.path), ['run', 'output']);
	t.is(fs.calls.filter(call => call.startsWith('close 2026')).length, 2);
});

test('a header that cannot be written leaves no descriptor open', t => {
	const directory = temporaryDirectory(t);
	const fs = recordingFs();
	fs.failWrite = true;
	t.throws(() => startRunFile(directory, header, fs), {message: /^only 0 of \d+ bytes were written$/});
	t.deepEqual(fs.calls.map(call => call.split(' ')[0]), ['open-append', 'write', 'close']);
	t.deepEqual(readdirSync(directory).map(name => descriptorsOn(join(directory, name))), [0]);
});

/** A one-host plan for `web1` at `address`; nothing resolves it (no describe): it goes straight to executePlan. */
function plan(address: string, id: string): RunPlan {
	return {version: planVersion, requestId: id, script: 'hello', args: [], shownArgs: [], secretArgs: false, selector: ['web1'], targets: [{name: 'web1', address}], parallel: 1, timeoutSeconds: 5, dryRun: false, caller: 'test@here', notes: [], hash: 'h'};
}

async function controller(t: ExecutionContext) {
	const paths = controllerPaths(await createController());
	const credentials = loadControllerCredentials(paths);
	const audit = openControllerAudit(paths);
	t.teardown(async () => audit.close());
	const ports: ExecutePorts = {paths, registry: openControllerRegistry(paths), audit: () => audit, context: createClientContext(credentials), controllerSerial: normaliseSerial(new X509Certificate(credentials.cert).serialNumber)};
	return ports;
}

const runFile = (ports: ExecutePorts, id: string) => {
	const name = readdirSync(historyDirectory(ports.paths)).find(file => file.endsWith(`_${id}.jsonl`));
	return name === undefined ? undefined : join(historyDirectory(ports.paths), name);
};

test('a run that ends holds no descriptor on its history, which ends with its end line', async t => {
	const ports = await controller(t);
	// Nothing listens on port 1: the host is unreachable, and the run ends.
	const outcome = await (await executePlan(ports, plan('127.0.0.1:1', requestId))).outcome;
	t.deepEqual(outcome.summary.counts, {unreachable: 1});
	const path = runFile(ports, requestId)!;
	t.deepEqual(lineTypes(path), ['run', 'result', 'end']);
	t.is(descriptorsOn(path), 0);
});

test('a run that fails after its request is recorded holds no descriptor on its history, made after the failure by the run\'s immediate', async t => {
	const ports = await controller(t);
	const registry = {read: async () => Promise.reject(new Error('registry unreadable'))} as unknown as RegistryStore;
	const execution = await executePlan({...ports, registry}, plan('127.0.0.1:1', requestId));
	await t.throwsAsync(execution.outcome, {message: 'registry unreadable'});
	// The file is made by the run's immediate, after the failure here: header only, as before.
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	const path = runFile(ports, requestId)!;
	t.true(existsSync(path));
	t.deepEqual(lineTypes(path), ['run']);
	t.is(descriptorsOn(path), 0);
});
