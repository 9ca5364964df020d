/** `xi-exec doctor [--json]`: the fleet's certificates and keys, checked before they fail. */
import {statSync} from 'node:fs';
import {readControllerSettings} from '../audit/controller-log.js';
import {syslogFindings} from '../audit/syslog-health.js';
import {certificateHealth, type Finding} from '../certificates/health.js';
import {defaultRenewalThreshold} from '../certificates/expiry.js';
import {pendingAgents, readRotation} from '../certificates/rotation.js';
import {existsSync, readTextFile} from '../io/files.js';
import {openControllerRegistry, type ControllerPaths} from '../home.js';
import {x509} from '../pki/x509.js';
import type {CommandIo} from '../io/command-io.js';
import {safeJson} from '../output/visible.js';

export async function gatherHealth(paths: ControllerPaths, now: Date): Promise<Finding[]> {
	const notAfter = (path: string, what: string) => new x509.X509Certificate(readTextFile(path, what)).notAfter;
	const registry = await openControllerRegistry(paths).read();
	const rotation = readRotation(paths);
	const caKeyPresent = existsSync(paths.caKey);
	return certificateHealth({
		ca: {notAfter: notAfter(paths.caCert, 'the CA certificate')},
		own: [
			{what: 'controller certificate', notAfter: notAfter(paths.controllerCert, 'the controller certificate')},
			{what: 'server certificate', notAfter: notAfter(paths.serverCert, 'the server certificate')},
			...(existsSync(paths.auditCert) ? [{what: 'audit certificate', notAfter: notAfter(paths.auditCert, 'the audit certificate')}] : []),
		],
		caKey: {
			present: caKeyPresent,
			...(caKeyPresent ? {mode: statSync(paths.caKey).mode & 0o777} : {}),
			encrypted: caKeyPresent && readTextFile(paths.caKey, 'the CA key').includes('ENCRYPTED PRIVATE KEY'),
		},
		agents: registry.agents,
		...(rotation ? {rotation: {serial: rotation.serial, pending: pendingAgents(rotation, registry.agents)}} : {}),
		threshold: defaultRenewalThreshold,
	}, now);
}

export async function doctorCommand(paths: ControllerPaths, input: {json: boolean}, io: CommandIo): Promise<number> {
	const findings = [...await gatherHealth(paths, new Date()), ...await syslogFindings(readControllerSettings(paths).syslogSettings, paths.auditLog)];
	if (input.json) {
		io.stdout(safeJson({findings}, 2) + '\n');
	} else {
		const width = Math.max(...findings.map(finding => finding.subject.length));
		io.stdout(findings.map(finding => `${finding.level.padEnd(4)}  ${finding.subject.padEnd(width)}  ${finding.message}`).join('\n') + '\n');
	}

	return findings.some(finding => finding.level === 'fail') ? 1 : 0;
}
