import test from 'ava';
import {decodeAgentMessage, decodeControllerMessage, encodePairing, pairingFrameBytes, type AgentMessage, type ControllerMessage} from '../../source/pairing/messages.js';

const hex64 = 'ab'.repeat(32);

/** A frame as JSON text; a field given as undefined is left out. */
function frame(fields: Record<string, unknown>): string {
	return JSON.stringify({v: 1, ...fields});
}

/** The message V8 gives for text that is not JSON, as the decoder wraps it. */
function notJson(text: string): string {
	try {
		JSON.parse(text);
	} catch (error) {
		return `not JSON (${(error as Error).message})`;
	}

	throw new Error(`${text} is JSON`);
}

const commit = {type: 'commit', name: 'web1', address: '10.0.0.5:7441', tags: {site: 'london'}, csr: '-----BEGIN CERTIFICATE REQUEST-----', commitment: hex64};

const agentMessages: AgentMessage[] = [
	{type: 'commit', name: 'web1', address: '10.0.0.5:7441', tags: {site: 'london'}, csr: 'CSR', commitment: hex64},
	{type: 'commit', name: 'kiosk7', address: 'none', tags: {}, csr: 'CSR', commitment: hex64, relay: 'nats://broker.example.net:4222'},
	{type: 'reveal', nonce: hex64},
	{type: 'confirmed'},
	{type: 'declined', reason: 'the operator said no'},
];

const controllerMessages: ControllerMessage[] = [
	{type: 'hello', ceremony: 'c1', ca: 'CA PEM', controller: 'CONTROLLER PEM', controllerName: 'ctl', expires: '2026-01-15T12:05:00.000Z'},
	{type: 'nonce', nonce: hex64},
	{type: 'pending'},
	{type: 'approved', certificate: 'CERT PEM'},
	{type: 'approved', certificate: 'CERT PEM', relay: 'nats://broker.example.net:4222'},
	{type: 'paired'},
	{type: 'refused', reason: 'wrong code'},
];

for (const message of agentMessages) {
	test(`agent message ${message.type}${'relay' in message ? ' with a relay' : ''} survives encode and decode`, t => {
		const line = encodePairing(message);
		t.true(line.endsWith('\n'));
		t.is(line.indexOf('\n'), line.length - 1);
		t.deepEqual(decodeAgentMessage(line.trimEnd()), {ok: true, message});
	});
}

for (const message of controllerMessages) {
	test(`controller message ${message.type}${'relay' in message ? ' with a relay' : ''} survives encode and decode`, t => {
		t.deepEqual(decodeControllerMessage(encodePairing(message).trimEnd()), {ok: true, message});
	});
}

test('fields a message does not name are dropped, not passed on', t => {
	t.deepEqual(decodeAgentMessage(frame({type: 'confirmed', certificate: 'smuggled'})), {ok: true, message: {type: 'confirmed'}});
	t.deepEqual(decodeControllerMessage(frame({type: 'paired', admin: true})), {ok: true, message: {type: 'paired'}});
});

type Refusal = {title: string; line: string; reason: string};

const bothSides: Refusal[] = [
	{title: 'not JSON', line: 'approve web1', reason: notJson('approve web1')},
	{title: 'an empty line', line: '', reason: notJson('')},
	{title: 'a JSON array', line: '[]', reason: 'a pairing frame must be a JSON object'},
	{title: 'JSON null', line: 'null', reason: 'a pairing frame must be a JSON object'},
	{title: 'a JSON string', line: '"commit"', reason: 'a pairing frame must be a JSON object'},
	{title: 'v missing', line: JSON.stringify({type: 'paired'}), reason: 'pairing protocol version undefined is not supported'},
	{title: 'v: 2', line: frame({v: 2, type: 'paired'}), reason: 'pairing protocol version 2 is not supported'},
	{title: 'v as a string', line: frame({v: '1', type: 'paired'}), reason: 'pairing protocol version "1" is not supported'},
	{title: 'a __proto__ key', line: '{"v":1,"type":"confirmed","__proto__":{"x":1}}', reason: 'forbidden key "__proto__"'},
	{title: 'nesting deeper than 8 levels', line: frame({type: 'confirmed', deep: [[[[[[[[[]]]]]]]]]}), reason: 'nested deeper than 8 levels'},
	{title: 'a frame over 64 KiB', line: frame({type: 'confirmed', pad: 'x'.repeat(pairingFrameBytes)}), reason: 'pairing frame too large'},
	{title: 'no type', line: frame({}), reason: 'unknown pairing message undefined'},
];

const agentRefusals: Refusal[] = [
	...bothSides,
	{title: 'a controller message sent by an agent', line: frame({type: 'approved', certificate: 'x'}), reason: 'unknown pairing message "approved"'},
	{title: 'a commit without a name', line: frame({...commit, name: undefined}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit with a name of 65 characters', line: frame({...commit, name: 'w'.repeat(65)}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit with a numeric address', line: frame({...commit, address: 7441}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit with tags as an array', line: frame({...commit, tags: ['site=london']}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit with a numeric tag value', line: frame({...commit, tags: {site: 1}}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit with tags null', line: frame({...commit, tags: null}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit without a CSR', line: frame({...commit, csr: undefined}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commitment in upper case', line: frame({...commit, commitment: hex64.toUpperCase()}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commitment of 63 digits', line: frame({...commit, commitment: hex64.slice(1)}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commitment with a newline after it', line: frame({...commit, commitment: `${hex64}\n`}), reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'},
	{title: 'a commit whose relay is a number', line: frame({...commit, relay: 4222}), reason: 'a commit\'s relay must be the broker\'s URL'},
	{title: 'a reveal without a nonce', line: frame({type: 'reveal'}), reason: 'a reveal needs a 32-byte hex nonce'},
	{title: 'a reveal of 31 bytes', line: frame({type: 'reveal', nonce: hex64.slice(2)}), reason: 'a reveal needs a 32-byte hex nonce'},
	{title: 'a reveal of 33 bytes', line: frame({type: 'reveal', nonce: `${hex64}ab`}), reason: 'a reveal needs a 32-byte hex nonce'},
	{title: 'a reveal that is not hex', line: frame({type: 'reveal', nonce: 'zz'.repeat(32)}), reason: 'a reveal needs a 32-byte hex nonce'},
];

for (const {title, line, reason} of agentRefusals) {
	test(`an agent frame is refused: ${title}`, t => {
		t.deepEqual(decodeAgentMessage(line), {ok: false, reason});
	});
}

const controllerRefusals: Refusal[] = [
	...bothSides,
	{title: 'an agent message sent by a controller', line: frame({type: 'commit'}), reason: 'unknown pairing message "commit"'},
	{title: 'a hello without a CA', line: frame({type: 'hello', ceremony: 'c', controller: 'x', controllerName: 'n', expires: 'e'}), reason: 'a hello needs ceremony, ca, controller, controllerName and expires'},
	{title: 'a hello with a ceremony id of 65 characters', line: frame({type: 'hello', ceremony: 'c'.repeat(65), ca: 'x', controller: 'x', controllerName: 'n', expires: 'e'}), reason: 'a hello needs ceremony, ca, controller, controllerName and expires'},
	{title: 'a hello with a numeric expiry', line: frame({type: 'hello', ceremony: 'c', ca: 'x', controller: 'x', controllerName: 'n', expires: 1}), reason: 'a hello needs ceremony, ca, controller, controllerName and expires'},
	{title: 'a nonce that is not hex', line: frame({type: 'nonce', nonce: 'zz'.repeat(32)}), reason: 'a nonce must be 32 bytes of hex'},
	{title: 'a short nonce', line: frame({type: 'nonce', nonce: 'ab'}), reason: 'a nonce must be 32 bytes of hex'},
	{title: 'an approval without a certificate', line: frame({type: 'approved'}), reason: 'an approval needs a certificate'},
	{title: 'an approval whose relay is an object', line: frame({type: 'approved', certificate: 'x', relay: {url: 'nats://b:4222'}}), reason: 'an approval\'s relay must be the broker\'s URL'},
];

for (const {title, line, reason} of controllerRefusals) {
	test(`a controller frame is refused: ${title}`, t => {
		t.deepEqual(decodeControllerMessage(line), {ok: false, reason});
	});
}

test('a refusal or a decline keeps a reason of up to 500 characters, and replaces anything else', t => {
	t.deepEqual(decodeControllerMessage(frame({type: 'refused', reason: 'r'.repeat(500)})), {ok: true, message: {type: 'refused', reason: 'r'.repeat(500)}});
	t.deepEqual(decodeControllerMessage(frame({type: 'refused', reason: 'r'.repeat(501)})), {ok: true, message: {type: 'refused', reason: 'refused'}});
	t.deepEqual(decodeControllerMessage(frame({type: 'refused', reason: 42})), {ok: true, message: {type: 'refused', reason: 'refused'}});
	t.deepEqual(decodeAgentMessage(frame({type: 'declined', reason: 'r'.repeat(501)})), {ok: true, message: {type: 'declined', reason: 'declined'}});
	t.deepEqual(decodeAgentMessage(frame({type: 'declined'})), {ok: true, message: {type: 'declined', reason: 'declined'}});
});
