/**
 * The controller's home directory ($XI_EXEC_HOME, or --home): the CA apart from everyday keys.
 *
 *   ca/ca.key            the CA's private key (0600, in its own 0700 directory)
 *   ca.pem               the CA certificate (public)
 *   controller.key/.pem  the identity that dials agents (xi-exec:controller, clientAuth)
 *   server.key/.pem      the pairing and HTTPS listeners (xi-exec:server, serverAuth)
 *   audit.key/.pem       signs the audit log's checkpoints (xi-exec:audit; never the CA key)
 *   audit/controller.jsonl  the audit log
 *   config.json          optional settings ({"syslog": "udp://HOST:PORT"})
 *   registry.json        the fleet
 *   registry.seen.jsonl  when agents last answered, appended per run and folded into registry.json (registry/store.ts)
 */
import {createPrivateKey} from 'node:crypto';
import {hostname} from 'node:os';
import {dirname} from 'node:path';
import {XiError} from './errors.js';
import {ensureDirectory, existsSync, readTextFile, writeFileAtomic} from './io/files.js';
import type {TlsCredentials} from './pki/credentials.js';
import type {CertificateAuthority} from './pki/issue.js';
import {rmSync} from 'node:fs';
import {renameDurable, syncDirectory} from './io/durable-fs.js';
import {createRegistryFile, openRegistryStore, type RegistryStore} from './registry/store.js';

import {controllerPaths, type ControllerPaths} from './home-paths.js';

export {controllerPaths, resolveControllerHome, type ControllerPaths} from './home-paths.js';

export async function initControllerHome(home: string, now: Date): Promise<{caSha256: string}> {
	const paths = controllerPaths(home);
	if (existsSync(paths.caKey) || existsSync(paths.caCert)) {
		throw new XiError('ALREADY_INITIALISED', `${home} already holds a fleet CA; use another --home, or remove it to start a new fleet.`);
	}

	// The PKI library is loaded by the commands that issue, not by every command that reads a path.
	const {createCertificateAuthority, generateKeyPair, issueCertificate, privateKeyToPem, publicKeySha256} = await import('./pki/index.js');
	ensureDirectory(home);
	ensureDirectory(paths.caDirectory);
	const caKeys = await generateKeyPair();
	const caCertificate = await createCertificateAuthority({keys: caKeys, now});
	const ca: CertificateAuthority = {certificate: caCertificate, privateKey: caKeys.privateKey};
	writeFileAtomic(paths.caKey, await privateKeyToPem(caKeys.privateKey), 0o600);
	writeFileAtomic(paths.caCert, caCertificate.toString('pem'), 0o644);

	const controllerKeys = await generateKeyPair();
	const controller = await issueCertificate({ca, publicKey: controllerKeys.publicKey, identity: {role: 'controller'}, now});
	writeFileAtomic(paths.controllerKey, await privateKeyToPem(controllerKeys.privateKey), 0o600);
	writeFileAtomic(paths.controllerCert, controller.toString('pem'), 0o644);

	const serverKeys = await generateKeyPair();
	const server = await issueCertificate({
		ca,
		publicKey: serverKeys.publicKey,
		identity: {role: 'server'},
		now,
		dnsNames: ['localhost', hostname()],
		ipAddresses: ['127.0.0.1', '::1'],
	});
	writeFileAtomic(paths.serverKey, await privateKeyToPem(serverKeys.privateKey), 0o600);
	writeFileAtomic(paths.serverCert, server.toString('pem'), 0o644);

	const auditKeys = await generateKeyPair();
	const audit = await issueCertificate({ca, publicKey: auditKeys.publicKey, identity: {role: 'audit'}, now});
	writeFileAtomic(paths.auditKey, await privateKeyToPem(auditKeys.privateKey), 0o600);
	writeFileAtomic(paths.auditCert, audit.toString('pem'), 0o644);
	ensureDirectory(paths.auditDirectory);

	await createRegistryFile(paths.registry);
	return {caSha256: publicKeySha256(caCertificate)};
}

/** Refuses a home that does not exist or holds no fleet CA, naming the command that makes one. */
export function requireInitialised(paths: ControllerPaths): void {
	if (!existsSync(paths.caCert) || !existsSync(paths.controllerKey)) {
		throw new XiError('NOT_INITIALISED', `${paths.home} has no fleet CA yet; run \`xi-exec init\` (or pass --home / XI_EXEC_HOME).`);
	}
}

// The PEM material a TLS client or server needs lives in pki/; re-exported for the tests and the bench.
export type {TlsCredentials} from './pki/credentials.js';

/**
 * `read`: the same three files as this process read them moments ago (a one-shot's early dial,
 * cli/early-dial.ts), used as they are unless a rotation is finished now, which changes them.
 */
export function loadControllerCredentials(paths: ControllerPaths, read?: TlsCredentials): TlsCredentials {
	requireInitialised(paths);
	if (!finishInterruptedRotation(paths) && read) {
		return read;
	}

	return {
		key: readTextFile(paths.controllerKey, 'the controller key'),
		cert: readTextFile(paths.controllerCert, 'the controller certificate'),
		ca: readTextFile(paths.caCert, 'the CA certificate'),
	};
}

export function loadServerCredentials(paths: ControllerPaths): TlsCredentials {
	requireInitialised(paths);
	return {
		key: readTextFile(paths.serverKey, 'the server key'),
		cert: readTextFile(paths.serverCert, 'the server certificate'),
		ca: readTextFile(paths.caCert, 'the CA certificate'),
	};
}

export function readControllerCertificate(paths: ControllerPaths): string {
	requireInitialised(paths);
	return readTextFile(paths.controllerCert, 'the controller certificate');
}

/**
 * The CA with its private key, for issuing: only pairing, renewal and rotation need it. The key
 * may be kept offline (the file absent) or encrypted (`xi-exec ca protect`; the passphrase then
 * comes from XI_EXEC_CA_PASSPHRASE); either way this says so, and renewals wait until it is back.
 */
export async function loadCertificateAuthority(paths: ControllerPaths, passphrase = process.env['XI_EXEC_CA_PASSPHRASE']): Promise<CertificateAuthority> {
	requireInitialised(paths);
	const {keyPairFromPem, x509} = await import('./pki/index.js');
	const certificate = new x509.X509Certificate(readTextFile(paths.caCert, 'the CA certificate'));
	if (!existsSync(paths.caKey)) {
		throw new XiError('CA_UNAVAILABLE', `The CA key is not at ${paths.caKey} (kept offline?); put it back to pair, renew or rotate.`);
	}

	const pem = readTextFile(paths.caKey, 'the CA key');
	if (pem.includes('ENCRYPTED PRIVATE KEY') && !passphrase) {
		throw new XiError('CA_UNAVAILABLE', `The CA key at ${paths.caKey} is passphrase-protected; set XI_EXEC_CA_PASSPHRASE to pair, renew or rotate.`);
	}

	let plain: string;
	try {
		plain = pem.includes('ENCRYPTED PRIVATE KEY') ? decryptPrivateKey(pem, passphrase!) : pem;
	} catch (error) {
		throw new XiError('CA_UNAVAILABLE', `The CA key at ${paths.caKey} cannot be decrypted with XI_EXEC_CA_PASSPHRASE (${(error as Error).message}).`, {cause: error});
	}

	const {privateKey} = await keyPairFromPem(plain);
	return {certificate, privateKey};
}

function decryptPrivateKey(pem: string, passphrase: string): string {
	return createPrivateKey({key: pem, format: 'pem', passphrase}).export({type: 'pkcs8', format: 'pem'}) as string;
}

/**
 * `xi-exec ca protect`: encrypts the CA key in place with a passphrase (AES-256, PKCS#8).
 * `beforeWrite` (the audit record) runs after the checks and before the key is replaced: when it
 * throws, the key is unchanged.
 */
export async function protectCaKey(paths: ControllerPaths, passphrase: string, beforeWrite: () => Promise<void> = async () => undefined): Promise<void> {
	requireInitialised(paths);
	const pem = readTextFile(paths.caKey, 'the CA key');
	if (pem.includes('ENCRYPTED PRIVATE KEY')) {
		throw new XiError('USAGE', `The CA key at ${paths.caKey} is already passphrase-protected.`);
	}

	const encrypted = createPrivateKey(pem).export({type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase}) as string;
	await beforeWrite();
	writeFileAtomic(paths.caKey, encrypted, 0o600);
}

/** Finishes a rotation's completion that a crash interrupted (the key was moved, the certificate was not). */
/** Whether it finished one (the controller certificate changed). */
function finishInterruptedRotation(paths: ControllerPaths): boolean {
	if (existsSync(paths.nextControllerCert) && !existsSync(paths.nextControllerKey)) {
		renameDurable(paths.nextControllerCert, paths.controllerCert);
		rmSync(paths.rotation, {force: true});
		syncDirectory(dirname(paths.rotation));
		return true;
	}

	return false;
}

export function openControllerRegistry(paths: ControllerPaths): RegistryStore {
	requireInitialised(paths);
	return openRegistryStore(paths.registry);
}
