/**
 * The agent's checkpoint signer reads its key and certificate once and keeps them: files changed
 * on disk change nothing until `reload` (what the running agent calls after a renewal installs new
 * ones, or unpairing deletes them); after it, the next checkpoint follows the files as they are,
 * a half-done renewal included (the certificate replaced, the key not yet), and fails when they are gone.
 */
import {copyFileSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import test from 'ava';
import {agentSigner} from '../../agent/agent-audit.js';
import {agentPaths} from '../../agent/home.js';
import {verifierFromPems} from '../../source/audit/checkpoint.js';
import {normaliseSerial, x509} from '../../source/pki/index.js';
import {createController, enrolAgent} from '../helpers/fleet.js';

const serialOf = (pem: string) => normaliseSerial(new x509.X509Certificate(pem).serialNumber);

test('checkpoints are signed with the key read at the first one, until reload; then with the files on disk', async t => {
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

	const rows: Array<{step: string; change?: () => void; reload?: true; keyId: string; verifiesAs: string[]}> = [
		{step: 'as enrolled', keyId: serial.a, verifiesAs: [serial.a]},
		{step: 'the same files again', keyId: serial.a, verifiesAs: [serial.a]},
		{step: 'both files replaced, no reload: still the first pair', change() {
			copyFileSync(other.cert, home.cert);
			copyFileSync(other.key, home.key);
		}, keyId: serial.a, verifiesAs: [serial.a]},
		{step: 'reloaded: the new pair', reload: true, keyId: serial.b, verifiesAs: [serial.b]},
		{step: 'the first certificate back, key not yet, reloaded', change: () => writeFileSync(home.cert, pem.a), reload: true, keyId: serial.a, verifiesAs: [serial.b]},
		{step: 'the first key back too, reloaded', change: () => writeFileSync(home.key, keyA, {mode: 0o600}), reload: true, keyId: serial.a, verifiesAs: [serial.a]},
	];
	for (const row of rows) {
		row.change?.();
		if (row.reload) {
			signer.reload();
		}

		t.is(signer.keyId, row.keyId, row.step);
		t.deepEqual(signedBy(), row.verifiesAs, row.step);
	}

	// Unpaired: the files are deleted. Kept until reload; after it, signing fails as it did when they were read at every use.
	rmSync(home.key);
	rmSync(home.cert);
	t.deepEqual(signedBy(), [serial.a], 'deleted, no reload: the key in memory');
	signer.reload();
	t.throws(() => signer.sign(data), {message: /the agent certificate/});
});
