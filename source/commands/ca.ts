/** `xi-exec ca fingerprint` and `xi-exec ca protect`. */
import {withControllerAudit} from '../audit/controller-log.js';
import {protectCaKey, type ControllerPaths} from '../home.js';
import {readTextFile} from '../io/files.js';
import {publicKeySha256} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';

/** SHA-256 of the CA's public key: what an agent pins with `pair --ca-sha256`. */
export function caFingerprint(paths: ControllerPaths): string {
	return publicKeySha256(new x509.X509Certificate(readTextFile(paths.caCert, 'the CA certificate')));
}

/** Encrypts the CA key, audited first (`ca.protected`; fail closed: no record, the key is unchanged). */
export async function caProtectCommand(paths: ControllerPaths, passphrase: string, io: CommandIo): Promise<number> {
	await withControllerAudit(paths, undefined, async audit => protectCaKey(paths, passphrase, async () => {
		await audit.append({event: 'ca.protected', caSha256: caFingerprint(paths), caller: defaultCaller()});
	}));
	io.stdout(`The CA key at ${paths.caKey} is now encrypted; pairing, renewal and rotation need XI_EXEC_CA_PASSPHRASE from now on.\n`);
	return 0;
}
