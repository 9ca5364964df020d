import {readTextFile} from '../io/files.js';
import type {ControllerPaths} from '../home.js';
import {publicKeySha256} from '../pki/fingerprints.js';
import {x509} from '../pki/x509.js';

/** SHA-256 of the CA's public key: what an agent pins with `pair --ca-sha256`. */
export function caFingerprint(paths: ControllerPaths): string {
	return publicKeySha256(new x509.X509Certificate(readTextFile(paths.caCert, 'the CA certificate')));
}
