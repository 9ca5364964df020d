/**
 * The agent's checkpoint signer follows its key and certificate files as they are at each use,
 * as it did before it kept their parse: after a renewal replaces both, after a half-done one
 * (the certificate replaced, the key not yet), and back again.
 */
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs';
import test from 'ava';
import {agentSigner} from '../../agent/agent-audit.js';
import {agentPaths} from '../../agent/home.js';
import {verifierFromPems} from '../../source/audit/checkpoint.js';
import {normaliseSerial, x509} from '../../source/pki/index.js';
import {createController, enrolAgent} from '../helpers/fleet.js';

const serialOf = (pem: string) => normaliseSerial(new x509.X509Certificate(pem).serialNumber);

test('each checkpoint is signed with the key and named by the certificate on disk at that moment', async t => {
	const controller = await createController();
	const [a, b] = await Promise.all(['signer-a', 'signer-b'].map(async name => enrolAgent(controller, {name, port: 1})));
	const home = agentPaths(a!.home);
	const other = agentPaths(b!.home);
	const pem = {a: readFileSync(home.cert, 'utf8'), b: readFileSync(other.cert, 'utf8')};
	const keyA = readFileSync(home.key, 'utf8');
	const serial = {a: serialOf(pem.a), b: serialOf(pem.b)};
	const verifier = verifierFromPems({[serial.a]: pem.a, [serial.b]: pem.b});
	const signer = agentSigner(home);
	const data = Buffer.from('xi-exec audit checkpoint v1\n{}');
	const signedBy = () => {
		const signature = signer.sign(data);
		return [serial.a, serial.b].filter(keyId => verifier.verify(keyId, data, signature));
	};

	const rows: Array<{step: string; change?: () => void; keyId: string; verifiesAs: string[]}> = [
		{step: 'as enrolled', keyId: serial.a, verifiesAs: [serial.a]},
		{step: 'the same files again', keyId: serial.a, verifiesAs: [serial.a]},
		{step: 'certificate renewed, key not yet', change: () => copyFileSync(other.cert, home.cert), keyId: serial.b, verifiesAs: [serial.a]},
		{step: 'key renewed too', change: () => copyFileSync(other.key, home.key), keyId: serial.b, verifiesAs: [serial.b]},
		{step: 'the first pair put back', change() {
			writeFileSync(home.cert, pem.a);
			writeFileSync(home.key, keyA, {mode: 0o600});
		}, keyId: serial.a, verifiesAs: [serial.a]},
	];
	for (const row of rows) {
		row.change?.();
		t.is(signer.keyId, row.keyId, row.step);
		t.deepEqual(signedBy(), row.verifiesAs, row.step);
	}
});
