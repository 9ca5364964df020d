/**
 * A worker process minting agent credentials for the bench fleet cache (fleet-cache.ts): for each
 * name in its input, a fresh key pair and a certificate from the fleet CA in CONTROLLER_HOME, the
 * way pairing issues them, written as NAME.key (0600) and NAME.pem into the output directory.
 * Reports the agents' registry facts over IPC when done.
 *
 *   node --import=tsx bench/mint-host.ts INPUT.json     INPUT.json: {controllerHome, directory, names}
 */
import {readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {certificateSha256, generateKeyPair, issueCertificate, normaliseSerial, privateKeyToPem} from '../source/pki/index.js';
import {loadIssuer} from './issuer.js';
import {announce} from './host-protocol.js';

export type MintInput = {controllerHome: string; directory: string; names: string[]};
/** What the registry needs of each agent; the certificate itself is NAME.pem. */
export type MintedAgent = {name: string; serial: string; fingerprint: string; issued: string; expires: string};

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as MintInput;

try {
	const issuer = await loadIssuer(input.controllerHome);
	const minted: MintedAgent[] = [];
	for (const name of input.names) {
		const keys = await generateKeyPair();
		const certificate = await issueCertificate({ca: issuer.ca, publicKey: keys.publicKey, identity: {role: 'agent', name}, now: new Date()});
		writeFileSync(join(input.directory, `${name}.key`), await privateKeyToPem(keys.privateKey), {mode: 0o600});
		writeFileSync(join(input.directory, `${name}.pem`), certificate.toString('pem'));
		minted.push({name, serial: normaliseSerial(certificate.serialNumber), fingerprint: certificateSha256(certificate), issued: certificate.notBefore.toISOString(), expires: certificate.notAfter.toISOString()});
	}

	writeFileSync(`${process.argv[2]!}.out`, JSON.stringify(minted));
	announce({ready: minted.length});
} catch (error) {
	announce({failed: (error as Error).message});
	process.exit(1);
}
