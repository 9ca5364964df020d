/**
 * Keeps the fleet's certificates current, for the agents it is given: announces the next
 * controller serial to those that lack it while a rotation is in progress (and completes the
 * rotation once every registered agent has it), and renews agent certificates that have less
 * than the threshold of their validity left (or all of them, when forced). Called after every
 * contact with agents (`run`, `agents`) and by `renew` and `rotate`. When the CA key is not
 * available the renewals are reported as queued: they are due again at the next contact.
 */
import {join} from 'node:path';
import type {ClientContext} from '../dispatch/agent-connection.js';
import lockfile from 'proper-lockfile';
import {isXiError} from '../errors.js';
import {ensureDirectory} from '../io/files.js';
import {loadCertificateAuthority, openControllerRegistry, type ControllerPaths} from '../home.js';
import {mapLimited} from '../dispatch/pool.js';
import type {CertificateAuthority} from '../pki/issue.js';
import {findAgent, recordRenewal, revokedSerials, type AgentRecord} from '../registry/model.js';
import {announceSerial, renewAgent, type AgentRequestOptions} from './agent-requests.js';
import {agentValidity, defaultRenewalThreshold, renewalDue} from './expiry.js';
import {completeRotation, pendingAgents, readRotation, withAnnounced, writeRotation} from './rotation.js';

export type AuditRecorder = (event: string, fields: Record<string, unknown>) => Promise<void>;

export type MaintenanceOptions = {
	paths: ControllerPaths;
	context: ClientContext;
	caller: string;
	now: () => Date;
	timeoutMs: number;
	record: AuditRecorder;
	/** Renew these agents whatever their validity (`xi-exec renew`). */
	forceRenewal?: boolean;
	threshold?: number;
	loadCa?: () => Promise<CertificateAuthority>;
};

export type MaintenanceReport = {
	renewed: Array<{agent: string; serial: string; notAfter: string}>;
	renewalFailed: Array<{agent: string; reason: string}>;
	/** Renewals that wait for the CA key. */
	renewalQueued?: {agents: string[]; reason: string};
	announced: string[];
	announceFailed: Array<{agent: string; reason: string}>;
	/** Agents that still lack the next controller serial, when a rotation is in progress. */
	rotationPending: string[];
	rotationCompleted?: {serial: string; previousSerial: string};
};

export async function maintainAgents(contacted: ReadonlyArray<Pick<AgentRecord, 'name'>>, options: MaintenanceOptions): Promise<MaintenanceReport> {
	const report: MaintenanceReport = {renewed: [], renewalFailed: [], announced: [], announceFailed: [], rotationPending: []};
	const store = openControllerRegistry(options.paths);
	const registry = await store.read();
	const revoked = revokedSerials(registry);
	// As the registry says now: another process may have renewed them since the caller read it.
	const names = new Set(contacted.map(agent => agent.name));
	const agents = registry.agents.filter(agent => names.has(agent.name));
	const requestOptions = {context: options.context, timeoutMs: options.timeoutMs, caller: options.caller, revoked};

	let rotation = readRotation(options.paths);
	if (rotation) {
		const next = rotation;
		const pending = pendingAgents(next, agents);
		const answers = await mapLimited(agents.filter(agent => pending.includes(agent.name)), 32, async agent => ({agent: agent.name, answer: await announceSerial(agent, next.serial, requestOptions)}));
		for (const {agent, answer} of answers) {
			if (answer.ok) {
				report.announced.push(agent);
				await options.record('controller.serial-announced', {agent, serial: next.serial});
			} else {
				report.announceFailed.push({agent, reason: answer.reason});
			}
		}

		// Re-read: another process may have completed (or restarted) the rotation meanwhile.
		const now = readRotation(options.paths);
		rotation = now?.serial === next.serial ? withAnnounced(now, agents.filter(agent => report.announced.includes(agent.name))) : now;
		if (rotation && now?.serial === next.serial) {
			writeRotation(options.paths, rotation);
		}
	}

	const due = agents.filter(agent => options.forceRenewal === true || renewalDue(agentValidity(agent), options.now(), options.threshold ?? defaultRenewalThreshold));
	if (due.length > 0) {
		await renew(due, options, requestOptions, report);
	}

	if (rotation) {
		report.rotationPending = pendingAgents(rotation, (await store.read()).agents);
		if (report.rotationPending.length === 0) {
			// Recorded before the switch (fail closed: no record, the controller keeps its serial).
			await options.record('controller.rotated', {serial: rotation.serial, previousSerial: rotation.previousSerial, forced: false, unreached: []});
			completeRotation(options.paths);
			report.rotationCompleted = {serial: rotation.serial, previousSerial: rotation.previousSerial};
		}
	}

	return report;
}

async function renew(due: readonly AgentRecord[], options: MaintenanceOptions, requestOptions: AgentRequestOptions, report: MaintenanceReport): Promise<void> {
	let ca: CertificateAuthority;
	try {
		ca = await (options.loadCa ?? (async () => loadCertificateAuthority(options.paths)))();
	} catch (error) {
		if (!isXiError(error) || error.code !== 'CA_UNAVAILABLE') {
			throw error;
		}

		report.renewalQueued = {agents: due.map(agent => agent.name), reason: error.message};
		await options.record('cert.renewal-queued', {agents: report.renewalQueued.agents, reason: error.message});
		return;
	}

	const store = openControllerRegistry(options.paths);
	await mapLimited(due, 16, async agent => withRenewalLock(options.paths, agent.name, async () => {
		// Under the agent's lock, as the registry says now: another process may have renewed it meanwhile.
		const current = findAgent(await store.read(), agent.name);
		if (!current || current.serial !== agent.serial || (options.forceRenewal !== true && !renewalDue(agentValidity(current), options.now(), options.threshold ?? defaultRenewalThreshold))) {
			return;
		}

		const result = await renewAgent(current, {...requestOptions, ca, now: options.now});
		if (!result.ok) {
			report.renewalFailed.push({agent: agent.name, reason: result.reason});
			await options.record('cert.renewal-failed', {agent: agent.name, serial: current.serial, reason: result.reason});
			return;
		}

		// The agent serves with the new certificate already: record it even if the audit then fails.
		await store.update(registry => recordRenewal(registry, agent.name, result, options.now().toISOString()));
		report.renewed.push({agent: agent.name, serial: result.serial, notAfter: result.notAfter});
		await options.record('cert.renewed', {agent: agent.name, previousSerial: current.serial, serial: result.serial, notAfter: result.notAfter});
	}));
}

/**
 * One renewal of an agent at a time, across processes (the CLI, the API server, the console): two
 * overlapping renewals could otherwise record their certificates in the wrong order and revoke the
 * one the agent serves.
 */
async function withRenewalLock(paths: ControllerPaths, agent: string, work: () => Promise<void>): Promise<void> {
	const directory = join(paths.home, 'locks');
	ensureDirectory(directory);
	const release = await lockfile.lock(join(directory, `renew-${agent}`), {realpath: false, stale: 60_000, retries: {retries: 200, minTimeout: 20, maxTimeout: 250, randomize: true}});
	try {
		await work();
	} finally {
		await release();
	}
}
