/** The fleet CA and controller serial of a controller home, as the bench mints agents with them. */
import {controllerPaths, loadCertificateAuthority} from '../source/home.js';
import {readTextFile} from '../source/io/files.js';
import {normaliseSerial, x509, type CertificateAuthority} from '../source/pki/index.js';

export type Issuer = {ca: CertificateAuthority; controllerSerial: string};

export async function loadIssuer(controllerHome: string): Promise<Issuer> {
	const paths = controllerPaths(controllerHome);
	const controllerCertificate = new x509.X509Certificate(readTextFile(paths.controllerCert, 'controller cert'));
	return {ca: await loadCertificateAuthority(paths), controllerSerial: normaliseSerial(controllerCertificate.serialNumber)};
}
