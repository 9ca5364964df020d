/** The controller's audit log: signed with its audit key (certified by the fleet CA), forwarded to syslog when configured. */
import {XiError} from '../errors.js';
import {existsSync, readJsonFile, readTextFile, ensureDirectory} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {normaliseSerial} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';
import {signerFromPem, verifierFromPems, type CheckpointVerifier} from './checkpoint.js';
import {openAuditLog, type AuditLog} from './file-log.js';
import {createSyslogForwarder, parseSyslogUrl, type SyslogForwarder} from './syslog.js';

export type ControllerSettings = {syslog?: string};

export function readControllerSettings(paths: ControllerPaths): ControllerSettings {
	if (!existsSync(paths.config)) {
		return {};
	}

	const raw = readJsonFile(paths.config, 'the controller settings') as ControllerSettings;
	return typeof raw.syslog === 'string' ? {syslog: raw.syslog} : {};
}

export function openControllerAudit(paths: ControllerPaths): AuditLog & {forwarder?: SyslogForwarder} {
	if (!existsSync(paths.auditKey)) {
		throw new XiError('NOT_INITIALISED', `${paths.home} has no audit key (audit.key); it was made by an older \`xi-exec init\`: create a new home.`);
	}

	ensureDirectory(paths.auditDirectory);
	const certificate = new x509.X509Certificate(readTextFile(paths.auditCert, 'the audit certificate'));
	const {syslog} = readControllerSettings(paths);
	let forwarder: SyslogForwarder | undefined;
	if (syslog) {
		const target = parseSyslogUrl(syslog);
		if (typeof target === 'string') {
			throw new XiError('CONFIG_INVALID', `"syslog" in ${paths.config}: ${target}.`);
		}

		forwarder = createSyslogForwarder(target, 'xi-exec');
	}

	const log = openAuditLog({
		path: paths.auditLog,
		side: 'controller',
		signer: signerFromPem(normaliseSerial(certificate.serialNumber), readTextFile(paths.auditKey, 'the audit key')),
		...(forwarder ? {forward: forwarder.forward} : {}),
	});
	return forwarder ? {...log, forwarder, close: async () => {
		await log.close();
		await forwarder.close();
	}} : log;
}

export function controllerAuditVerifier(paths: ControllerPaths): CheckpointVerifier {
	const certificate = new x509.X509Certificate(readTextFile(paths.auditCert, 'the audit certificate'));
	return verifierFromPems({[normaliseSerial(certificate.serialNumber)]: certificate.toString('pem')});
}
