/** The controller's audit log: signed with its audit key (certified by the fleet CA), forwarded to syslog when configured. */
import {X509Certificate} from 'node:crypto';
import {join} from 'node:path';
import {anchorOf} from './anchor.js';
import {writeAnchor} from './anchor-file.js';
import {XiError} from '../errors.js';
import {existsSync, readJsonFile, readTextFile, ensureDirectory} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {findAgent, type Registry} from '../registry/model.js';
import {signerFromPem, verifierFromPems, type CheckpointVerifier} from './checkpoint.js';
import {openAuditLog, type AuditLog} from './file-log.js';
import type {SyslogForwarder} from './syslog.js';
import {openSyslogForwarder, readSyslogSettings, type SyslogSettings} from './syslog-settings.js';

export type ControllerSettings = {syslog?: string; syslogSettings?: SyslogSettings; auditRotateBytes?: number; historyMaxRuns?: number; historyMaxAgeDays?: number; dispatchThreads?: number | 'auto'};

/** The most dispatch threads `dispatchThreads` may ask for (dispatch/thread-count.ts). */
const maxThreads = 64;

export function readControllerSettings(paths: ControllerPaths): ControllerSettings {
	if (!existsSync(paths.config)) {
		return {};
	}

	const raw = readJsonFile(paths.config, 'the controller settings') as Record<string, unknown>;
	const rotate = raw['auditRotateBytes'];
	if (rotate !== undefined && !isRotateBytes(rotate)) {
		throw new XiError('CONFIG_INVALID', `"auditRotateBytes" in ${paths.config} must be a whole number of bytes of at least 4096 (received ${JSON.stringify(rotate)}).`);
	}

	for (const name of ['historyMaxRuns', 'historyMaxAgeDays'] as const) {
		const value = raw[name];
		if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) {
			throw new XiError('CONFIG_INVALID', `"${name}" in ${paths.config} must be a whole number of at least 1 (received ${JSON.stringify(value)}).`);
		}
	}

	const threads = raw['dispatchThreads'];
	if (threads !== undefined && threads !== 'auto' && !(typeof threads === 'number' && Number.isSafeInteger(threads) && threads >= 1 && threads <= maxThreads)) {
		throw new XiError('CONFIG_INVALID', `"dispatchThreads" in ${paths.config} must be "auto" or a whole number of threads from 1 to ${maxThreads} (received ${JSON.stringify(threads)}).`);
	}

	const syslogSettings = readSyslogSettings(raw, paths.config);
	return {
		...(syslogSettings ? {syslog: syslogSettings.url, syslogSettings} : {}),
		...(rotate === undefined ? {} : {auditRotateBytes: rotate as number}),
		...(raw['historyMaxRuns'] === undefined ? {} : {historyMaxRuns: raw['historyMaxRuns'] as number}),
		...(raw['historyMaxAgeDays'] === undefined ? {} : {historyMaxAgeDays: raw['historyMaxAgeDays'] as number}),
		...(threads === undefined ? {} : {dispatchThreads: threads}),
	};
}

/** A size at which an audit file rotates: whole bytes, no smaller than a few records. */
export function isRotateBytes(value: unknown): boolean {
	return typeof value === 'number' && Number.isSafeInteger(value) && value >= 4096;
}

export function openControllerAudit(paths: ControllerPaths): AuditLog & {forwarder?: SyslogForwarder} {
	if (!existsSync(paths.auditKey)) {
		throw new XiError('NOT_INITIALISED', `${paths.home} has no audit key (audit.key); it was made by an older \`xi-exec init\`: create a new home.`);
	}

	ensureDirectory(paths.auditDirectory);
	const certificate = new X509Certificate(readTextFile(paths.auditCert, 'the audit certificate'));
	const {syslogSettings, auditRotateBytes} = readControllerSettings(paths);
	const forwarder = syslogSettings ? openSyslogForwarder(syslogSettings, paths.auditLog, 'xi-exec') : undefined;

	const log = openAuditLog({
		path: paths.auditLog,
		side: 'controller',
		signer: signerFromPem(normaliseSerial(certificate.serialNumber), readTextFile(paths.auditKey, 'the audit key')),
		...(auditRotateBytes ? {rotateBytes: auditRotateBytes} : {}),
		...(forwarder ? {forward: forwarder.forward} : {}),
		onCheckpoint(checkpoint) {
			writeAnchor(controllerAnchorPath(paths), anchorOf(checkpoint));
		},
	});
	return forwarder ? {...log, forwarder, close: async () => {
		await log.close();
		await forwarder.close();
	}} : log;
}

/** The controller's audit head in a second place (anchor.ts): in its home, outside the audit directory. */
export function controllerAnchorPath(paths: ControllerPaths): string {
	return join(paths.home, 'audit-head.json');
}

export function controllerAuditVerifier(paths: ControllerPaths): CheckpointVerifier {
	const pem = readTextFile(paths.auditCert, 'the audit certificate');
	return verifierFromPems({[normaliseSerial(new X509Certificate(pem).serialNumber)]: pem});
}

/**
 * For `audit verify --cross`: each agent's checkpoints are signed with its own key, whose
 * certificate the registry keeps from pairing (and, after a renewal, the former ones).
 */
export function agentVerifierFromRegistry(registry: Registry, agent: string): CheckpointVerifier | string {
	const record = findAgent(registry, agent);
	if (!record) {
		return `no agent named ${agent} is in the registry`;
	}

	const certificates = [record.certificate, ...(record.formerCertificates ?? [])].filter((pem): pem is string => typeof pem === 'string');
	if (certificates.length === 0) {
		return `the registry keeps no certificate for ${agent} (it was paired by an older xi-exec); pair it again`;
	}

	return verifierFromPems(Object.fromEntries(certificates.map(pem => [normaliseSerial(new X509Certificate(pem).serialNumber), pem])));
}

/**
 * Runs `work` with the controller's audit log: the one given (a server keeps its own open) or one
 * opened for the call and closed after it, with a checkpoint. A controller action appends its
 * record first and acts only once it is written (fail closed: no record, no change).
 */
export async function withControllerAudit<T>(paths: ControllerPaths, given: AuditLog | undefined, work: (audit: AuditLog) => Promise<T>): Promise<T> {
	if (given) {
		return work(given);
	}

	const audit = openControllerAudit(paths);
	try {
		return await work(audit);
	} finally {
		await audit.close();
	}
}
