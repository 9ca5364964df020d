/**
 * Where a one-shot `xi-exec run SCRIPT --on ONE` spends its time, measured inside one fresh plain
 * node process (no tsx) running the built modules the way the CLI does: the early dial to the agent
 * first (cli/early-dial.ts, its handshake overlapping what follows), then the real `resolvePlan`
 * and `executePlan` with the real stores, the description cache, the audit log and the TLS context
 * holding the early connection, each port wrapped in a stopwatch. Printed as one JSON line of
 * milliseconds: process start (node's bootstrap until this file runs), module loading (what the
 * CLI loads for `run`), home, registry and description cache reads (whether the agent had to be
 * described live instead, as a flag), the request's audit record with its checkpoint (fsynced),
 * the wait for the early connection once the run asked for it (the part of its handshake the
 * loading did not hide), the run exchange on it, the outcome records and closing the log
 * (fsynced), the registry's lastSeen update (locked, fsynced), the rest of the run (history,
 * pruning); and a bare TLS handshake to the same agent (not on the run's path) for comparison.
 *
 *   node one-shot-steps.js INPUT.json     INPUT.json: {repoRoot, home, agent, script}
 */
import {readFileSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {connect} from 'node:tls';
import {pathToFileURL} from 'node:url';

const processStart = performance.now();
type Input = {repoRoot: string; home: string; agent: string; script: string};
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Input;
const built = async (path: string) => import(pathToFileURL(`${input.repoRoot}/dist/${path}`).href) as Promise<Record<string, never>>;

const steps: Record<string, number> = {processStart};
// As source/cli.ts does, before anything else is loaded: the early TCP connection, then TLS on it, its handshake overlapping the loading below.
const dialStarted = performance.now();
const {openEarlySocket} = await built('source/cli/early-socket.js') as unknown as typeof import('../source/cli/early-socket.js');
const socket = openEarlySocket(['run', input.script, '--on', input.agent, '--home', input.home], process.env);
const {dialEarly} = await built('source/cli/early-dial.js') as unknown as typeof import('../source/cli/early-dial.js');
const dialled = dialEarly(socket);
steps['moduleLoading'] = performance.now() - dialStarted;
const early = dialled && {
	...dialled,
	take(agent: string) {
		const taken = dialled.take(agent);
		const askedAt = performance.now();
		void taken?.then(() => {
			steps['earlyWait'] = performance.now() - askedAt;
		});
		return taken;
	},
};
async function timed<T>(step: string, work: () => Promise<T> | T): Promise<T> {
	const started = performance.now();
	try {
		return await work();
	} finally {
		steps[step] = (steps[step] ?? 0) + performance.now() - started;
	}
}

type Modules = {
	home: typeof import('../source/home.js');
	run: typeof import('../source/commands/run.js');
	request: typeof import('../source/core/run-plan.js');
	execute: typeof import('../source/core/run-execute.js');
	connection: typeof import('../source/dispatch/agent-connection.js');
	descriptions: typeof import('../source/core/description-file.js');
	held: typeof import('../source/dispatch/held-connections.js');
	audit: typeof import('../source/audit/controller-log.js');
	fingerprints: typeof import('../source/pki/fingerprints.js');
	model: typeof import('../source/registry/model.js');
};

// What `xi-exec run` loads: the entry's modules and the command table, then the run command's own.
const modules = await timed('moduleLoading', async () => {
	await Promise.all(['source/cli/commands/index.js', 'source/cli/main.js', 'source/cli/runner.js', 'source/io/command-io.js'].map(built));
	const [home, run, request, execute, connection, held, audit, fingerprints, model, descriptions] = await Promise.all([
		'source/home.js', 'source/commands/run.js', 'source/core/run-plan.js', 'source/core/run-execute.js', 'source/dispatch/agent-connection.js',
		'source/dispatch/held-connections.js', 'source/audit/controller-log.js', 'source/pki/fingerprints.js', 'source/registry/model.js',
		'source/core/description-file.js', 'source/commands/run-flags.js',
	].map(built));
	return {home, run, request, execute, connection, held, audit, fingerprints, model, descriptions} as unknown as Modules;
});

const {X509Certificate} = await import('node:crypto');
const paths = modules.home.controllerPaths(input.home);
const {credentials, context, controllerSerial, registry} = await timed('homeAndRegistry', () => {
	modules.home.requireInitialised(paths);
	const credentials = modules.home.loadControllerCredentials(paths);
	return {
		credentials,
		context: modules.connection.createClientContext(credentials, undefined, early),
		controllerSerial: modules.fingerprints.normaliseSerial(new X509Certificate(credentials.cert).serialNumber),
		registry: modules.home.openControllerRegistry(paths),
	};
});
void credentials;

/** Like timed, for work asked together (the request's record and its checkpoint): the time from the first start to the last end. */
const spans: Record<string, {open: number; since: number}> = {};
async function spanned<T>(step: string, work: () => Promise<T>): Promise<T> {
	const span = spans[step] ??= {open: 0, since: 0};
	if (span.open++ === 0) {
		span.since = performance.now();
	}

	try {
		return await work();
	} finally {
		if (--span.open === 0) {
			steps[step] = (steps[step] ?? 0) + performance.now() - span.since;
		}
	}
}

type AuditLog = ReturnType<typeof modules.audit.openControllerAudit>;
let audit: AuditLog | undefined;
let phase: 'request' | 'outcomes' = 'request';
const wrappedAudit = (log: AuditLog): AuditLog => ({
	...log,
	// Asked together (the request and its checkpoint; the last outcome and the closing checkpoint): the span from the first ask to the last answer.
	append: fields => spanned(phase === 'request' ? 'auditRequest' : 'auditOutcomes', () => log.append(fields)),
	checkpoint: () => spanned(phase === 'request' ? 'auditRequest' : 'auditOutcomes', () => log.checkpoint()),
	close: () => timed('auditClose', () => log.close()),
	signedHead: () => log.signedHead(),
	head: () => log.head(),
	hold: () => log.hold(),
	path: log.path,
});
// As `xi-exec run` does: a describe's connection is kept for the run (one handshake for both).
const connections = modules.held.createRunConnections();
// A one-shot without arguments is planned from the agent's cached description; asked live (and remembered) when there is none.
const descriptions = modules.descriptions.openDescriptionFile(paths.home);
let describedLive = false;
const runPorts = {
	paths,
	registry: {
		read: () => timed('homeAndRegistry', () => registry.read()),
		update: (change: Parameters<typeof registry.update>[0]) => timed('registryUpdate', () => registry.update(change)),
		markSeen: (names: readonly string[], at: string) => timed('registryUpdate', () => registry.markSeen(names, at)),
	},
	audit: () => (audit ??= wrappedAudit(timedSync('auditOpen', () => modules.audit.openControllerAudit(paths)))),
	context,
	controllerSerial,
	connections,
	descriptions: {
		read: () => timedSync('homeAndRegistry', () => descriptions.read()),
		change(change: Parameters<typeof descriptions.change>[0]) {
			describedLive = true;
			descriptions.change(change);
		},
	},
};
// 'prepare': the plan resolved and its request recorded (executePlan resolves once it is); 'start': the run itself.
let runExchange = 0;
let connecting = 0;
const execution = await timed('prepare', async () => modules.execute.executePlan(runPorts, await modules.request.resolvePlan(runPorts, {script: input.script, args: [], on: [input.agent], parallel: 64, timeoutSeconds: 30, dryRun: false, caller: 'bench@localhost', yes: false}), {
	// As `xi-exec run` does: its log closes after the run, so the closing checkpoint goes with the last outcome.
	closesAudit: true,
	emit(event) {
		if (event.type === 'agent-connecting') {
			connecting = performance.now();
		} else if (event.type === 'agent-finished' && connecting > 0) {
			runExchange = performance.now() - connecting;
		}
	},
}));

function timedSync<T>(step: string, work: () => T): T {
	const started = performance.now();
	try {
		return work();
	} finally {
		steps[step] = (steps[step] ?? 0) + performance.now() - started;
	}
}

// From here on, audit appends are the hosts' outcomes (the request and its checkpoint are written).
phase = 'outcomes';
const outcome = await timed('start', async () => execution.outcome);
await audit?.close();
await context.close();

// A bare mutual-TLS handshake to the same agent, nothing sent: what any exchange pays first.
const target = (await registry.read()).agents.find(agent => agent.name === input.agent)!;
const [host, port] = [target.address.slice(0, target.address.lastIndexOf(':')), Number(target.address.slice(target.address.lastIndexOf(':') + 1))];
const handshake = await new Promise<number>((resolve, reject) => {
	const started = performance.now();
	const socket = connect({host, port, secureContext: context.tls, checkServerIdentity: () => undefined});
	socket.once('secureConnect', () => {
		resolve(performance.now() - started);
		socket.destroy();
	});
	socket.once('error', reject);
});

const ok = (outcome.summary.counts.ok ?? 0) === outcome.summary.total;
process.stdout.write(JSON.stringify({
	ok,
	...(ok ? {} : {failure: outcome.summary.notOk.map(result => `${result.agent}: ${result.status} ${result.reason ?? ''}`).join('; ')}),
	processStart: steps['processStart'],
	moduleLoading: steps['moduleLoading'],
	homeAndRegistry: steps['homeAndRegistry'],
	describedLive,
	auditRequest: (steps['auditOpen'] ?? 0) + (steps['auditRequest'] ?? 0),
	earlyWait: steps['earlyWait'] ?? 0,
	run: runExchange - (steps['earlyWait'] ?? 0),
	auditOutcomes: (steps['auditOutcomes'] ?? 0) + (steps['auditClose'] ?? 0),
	registryUpdate: steps['registryUpdate'] ?? 0,
	otherInRun: steps['start']! - runExchange - (steps['auditOutcomes'] ?? 0) - (steps['registryUpdate'] ?? 0),
	handshake,
	total: performance.now(),
}) + '\n');
