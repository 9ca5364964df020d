import {createHash, hkdfSync} from 'node:crypto';
import test from 'ava';
import {codeHash, codesMatch, commitment, deriveCode, formatCode, normaliseTypedCode, sha256Hex, transcriptHash, type TranscriptFields} from '../../source/pairing/code.js';

const fields: TranscriptFields = {
	ceremony: '6f1c2a4e-0000-4000-8000-000000000001',
	caCertificateSha256: 'a'.repeat(64),
	caPublicKeySha256: 'b'.repeat(64),
	controllerCertificateSha256: 'c'.repeat(64),
	serverCertificateSha256: 'd'.repeat(64),
	controllerName: 'controller',
	agentName: 'web1',
	agentAddress: '10.0.0.5:7441',
	agentTags: {site: 'london', role: 'web'},
	agentPublicKeySha256: 'e'.repeat(64),
	csrSha256: 'f'.repeat(64),
	expires: '2026-01-15T12:05:00.000Z',
};

const keyingMaterial = Buffer.alloc(32, 1);
const controllerNonce = Buffer.alloc(32, 2);
const agentNonce = Buffer.alloc(32, 3);

test('the transcript hash is SHA-256 over a label and the canonical JSON of the fields', t => {
	const canonical = '{"agentAddress":"10.0.0.5:7441","agentName":"web1","agentPublicKeySha256":"' + 'e'.repeat(64)
		+ '","agentTags":{"role":"web","site":"london"},"caCertificateSha256":"' + 'a'.repeat(64) + '","caPublicKeySha256":"' + 'b'.repeat(64)
		+ '","ceremony":"6f1c2a4e-0000-4000-8000-000000000001","controllerCertificateSha256":"' + 'c'.repeat(64) + '","controllerName":"controller"'
		+ ',"csrSha256":"' + 'f'.repeat(64) + '","expires":"2026-01-15T12:05:00.000Z","serverCertificateSha256":"' + 'd'.repeat(64) + '"}';
	const expected = createHash('sha256').update('xi-exec pairing transcript v1\n' + canonical).digest();
	t.deepEqual(transcriptHash(fields), expected);
});

test('the transcript hash does not depend on the order of fields or tags', t => {
	const reordered = Object.fromEntries(Object.entries(fields).reverse()) as TranscriptFields;
	t.deepEqual(transcriptHash({...reordered, agentTags: {role: 'web', site: 'london'}}), transcriptHash(fields));
});

const changes: Array<[string, Partial<TranscriptFields>]> = [
	['ceremony', {ceremony: '6f1c2a4e-0000-4000-8000-000000000002'}],
	['caCertificateSha256', {caCertificateSha256: '0'.repeat(64)}],
	['caPublicKeySha256', {caPublicKeySha256: '0'.repeat(64)}],
	['controllerCertificateSha256', {controllerCertificateSha256: '0'.repeat(64)}],
	['serverCertificateSha256', {serverCertificateSha256: '0'.repeat(64)}],
	['controllerName', {controllerName: 'controller2'}],
	['agentName', {agentName: 'web2'}],
	['agentAddress', {agentAddress: '10.0.0.5:7442'}],
	['agentTags (a value)', {agentTags: {site: 'paris', role: 'web'}}],
	['agentTags (one more)', {agentTags: {site: 'london', role: 'web', env: 'prod'}}],
	['agentPublicKeySha256', {agentPublicKeySha256: '0'.repeat(64)}],
	['csrSha256', {csrSha256: '0'.repeat(64)}],
	['expires', {expires: '2026-01-15T12:05:00.001Z'}],
];

for (const [field, change] of changes) {
	test(`the transcript hash covers ${field}`, t => {
		t.notDeepEqual(transcriptHash({...fields, ...change}), transcriptHash(fields));
	});
}

test('the commitment is SHA-256 over a label, the transcript hash and the agent nonce', t => {
	const transcript = transcriptHash(fields);
	const expected = createHash('sha256').update('xi-exec pairing commit v1\n').update(transcript).update(agentNonce).digest('hex');
	t.is(commitment(transcript, agentNonce), expected);
	t.regex(commitment(transcript, agentNonce), /^[0-9a-f]{64}$/);
});

test('the commitment binds both the transcript and the nonce', t => {
	const transcript = transcriptHash(fields);
	const other = transcriptHash({...fields, ceremony: 'another'});
	t.not(commitment(transcript, agentNonce), commitment(transcript, controllerNonce));
	t.not(commitment(transcript, agentNonce), commitment(other, agentNonce));
});

test('the code is HKDF-SHA256(EKM, salt N_C ‖ N_A, info T), 8 bytes read big-endian, mod 10^6, six digits', t => {
	const transcript = transcriptHash(fields);
	const bytes = Buffer.from(hkdfSync('sha256', keyingMaterial, Buffer.concat([controllerNonce, agentNonce]), transcript, 8));
	const expected = (bytes.readBigUInt64BE(0) % 1_000_000n).toString().padStart(6, '0');
	t.is(deriveCode(keyingMaterial, controllerNonce, agentNonce, transcript), expected);
	t.regex(expected, /^\d{6}$/);
});

test('the code keeps its leading zeros', t => {
	// Search for inputs whose code starts with 0 (about one in ten), so padding is exercised.
	const transcript = transcriptHash(fields);
	let found: string | undefined;
	for (let index = 0; index < 1000 && found === undefined; index++) {
		const code = deriveCode(keyingMaterial, Buffer.alloc(32, index), agentNonce, transcript);
		found = code.startsWith('0') ? code : undefined;
	}

	t.regex(found ?? 'none found', /^0\d{5}$/);
});

test('the code depends on every input: the exporter value, both nonces and the transcript', t => {
	const transcript = transcriptHash(fields);
	const code = deriveCode(keyingMaterial, controllerNonce, agentNonce, transcript);
	// Each change gives a different 6-digit code unless the two collide (one chance in 10^6), so
	// four fixed inputs that do collide would be a bug, not bad luck.
	t.not(deriveCode(Buffer.alloc(32, 9), controllerNonce, agentNonce, transcript), code, 'the exporter value');
	t.not(deriveCode(keyingMaterial, Buffer.alloc(32, 9), agentNonce, transcript), code, 'the controller nonce');
	t.not(deriveCode(keyingMaterial, controllerNonce, Buffer.alloc(32, 9), transcript), code, 'the agent nonce');
	t.not(deriveCode(keyingMaterial, controllerNonce, agentNonce, transcriptHash({...fields, agentName: 'web2'})), code, 'the transcript');
	t.not(deriveCode(keyingMaterial, agentNonce, controllerNonce, transcript), code, 'the order of the nonces in the salt');
});

test('codes are shown as two groups of three digits', t => {
	t.is(formatCode('482193'), '482 193');
	t.is(formatCode('000042'), '000 042');
});

const typed: Array<[string, string | undefined]> = [
	['482193', '482193'],
	['482 193', '482193'],
	['482-193', '482193'],
	['  482 - 193 ', '482193'],
	['4 8 2 1 9 3', '482193'],
	['482\t193', '482193'],
	['000000', '000000'],
	['48219', undefined],
	['4821930', undefined],
	['482 19a', undefined],
	['482_193', undefined],
	['482.193', undefined],
	['', undefined],
	['   ', undefined],
	['４８２１９３', undefined],
	['+482193', undefined],
];

for (const [text, expected] of typed) {
	test(`typed code ${JSON.stringify(text)} normalises to ${String(expected)}`, t => {
		t.is(normaliseTypedCode(text), expected);
	});
}

const comparisons: Array<[string, string, boolean]> = [
	['482193', '482193', true],
	['482 193', '482193', true],
	['482-193', '482193', true],
	['482194', '482193', false],
	['182193', '482193', false],
	['48219', '482193', false],
	['4821933', '482193', false],
	['', '482193', false],
	['------', '------', false],
	['      ', '------', false],
	['abcdef', 'abcdef', false],
];

for (const [text, expected, match] of comparisons) {
	test(`typed ${JSON.stringify(text)} ${match ? 'matches' : 'does not match'} ${expected}`, t => {
		t.is(codesMatch(text, expected), match);
	});
}

test('the audited code hash is SHA-256 of the ceremony id and the code, and never the code', t => {
	t.is(codeHash('ceremony-1', '482193'), sha256Hex('ceremony-1:482193'));
	t.not(codeHash('ceremony-1', '482193'), codeHash('ceremony-2', '482193'));
	t.false(codeHash('ceremony-1', '482193').includes('482193'));
});
