import test from 'ava';
import {initialPairingState, reducePairing, type PairingAction, type PairingScreenState} from '../../source/ui/screens/pairing/use-pairing-state.js';
import {pendingRequest} from './helpers/fake-core.js';

const fold = (actions: PairingAction[], state: PairingScreenState = initialPairingState) => actions.reduce(reducePairing, state);
const withRequests = fold([
	{type: 'event', event: {event: 'listening', address: '127.0.0.1:7400'}},
	{type: 'event', event: pendingRequest('web4', 0)},
	{type: 'event', event: pendingRequest('db3', 1)},
]);

test('requests arrive live, in order, under the listening address', t => {
	t.is(withRequests.address, '127.0.0.1:7400');
	t.deepEqual(withRequests.requests.map(request => request.agent), ['web4', 'db3']);
	const {event: _kind, ...request} = pendingRequest('web4', 0);
	t.deepEqual(withRequests.requests[0], request);
});

test('the code field takes digits only, six at most, from keys or a paste', t => {
	t.is(fold([{type: 'type', text: 'a'}, {type: 'type', text: '4'}, {type: 'type', text: '8-2 '}], withRequests).code, '482');
	t.is(fold([{type: 'type', text: '482 913'}], withRequests).code, '482913');
	t.is(fold([{type: 'type', text: '4829137'}], withRequests).code, '482913');
	t.is(fold([{type: 'type', text: '482913'}, {type: 'type', text: '5'}], withRequests).code, '482913');
	t.is(fold([{type: 'type', text: '48'}, {type: 'erase'}], withRequests).code, '4');
});

test('moving to another request clears the code typed for the first', t => {
	const state = fold([{type: 'type', text: '48'}, {type: 'move', delta: 1}], withRequests);
	t.is(state.cursor, 1);
	t.is(state.code, '');
	t.is(fold([{type: 'move', delta: 5}], withRequests).cursor, 1);
	t.is(fold([{type: 'move', delta: -5}], withRequests).cursor, 0);
});

test('a match holds both codes side by side', t => {
	const state = fold([{type: 'type', text: '482913'}, {type: 'approval', agent: 'web4', approval: {ok: true, agent: 'web4', agentCode: '482 913', controllerCode: '482 913'}}], withRequests);
	t.deepEqual(state.message, {kind: 'match', agent: 'web4', agentCode: '482 913', controllerCode: '482 913'});
	t.is(state.code, '');
});

test('a mismatch says only that it does not match: the state never holds the controller\'s code', t => {
	const state = fold([{type: 'type', text: '222222'}, {type: 'approval', agent: 'db3', approval: {ok: false, reason: 'does not match (2 tries left)'}}], withRequests);
	t.deepEqual(state.message, {kind: 'mismatch', agent: 'db3', text: 'does not match (2 tries left)'});
	t.is(state.code, '');
	t.false(JSON.stringify(state).includes('controller'));
	t.deepEqual(state.requests.length, 2, 'a wrong try keeps the request');
	t.is(fold([{type: 'event', event: {event: 'wrong-code', agent: 'db3', ceremony: 'c', triesLeft: 2, codeHash: '00'}}], state), state);
});

test('paired and refused requests leave the list; the cursor stays on one that is left', t => {
	let state = fold([{type: 'move', delta: 1}, {type: 'type', text: '12'}, {type: 'event', event: {event: 'paired', agent: 'db3', ceremony: 'c', serial: '01', address: '127.0.0.1:7452', tags: {}}}], withRequests);
	t.deepEqual(state.requests.map(request => request.agent), ['web4']);
	t.is(state.cursor, 0);
	t.is(state.code, '', 'the typed code went with its request');
	t.deepEqual(state.paired, ['db3']);
	t.deepEqual(state.message, {kind: 'info', text: 'db3 is paired and in the registry.'});

	state = fold([{type: 'event', event: {event: 'refused', agent: 'web4', ceremony: 'c', source: '127.0.0.1', reason: 'rejected by the operator'}}], state);
	t.deepEqual(state.requests, []);
	t.deepEqual(state.message, {kind: 'refused', text: 'web4 refused: rejected by the operator'});
});

test('a refusal before any request names its source and keeps the list', t => {
	const state = fold([{type: 'type', text: '12'}, {type: 'event', event: {event: 'refused', agent: null, ceremony: null, source: '10.1.2.3', reason: 'pairing needs TLS 1.3 with an exporter'}}], withRequests);
	t.is(state.requests.length, 2);
	t.is(state.code, '12');
	t.deepEqual(state.message, {kind: 'refused', text: 'a request from 10.1.2.3 refused: pairing needs TLS 1.3 with an exporter'});
});

test('a listener that cannot open says why', t => {
	t.is(fold([{type: 'failed', reason: 'listen EADDRINUSE 127.0.0.1:7400'}]).error, 'listen EADDRINUSE 127.0.0.1:7400');
});
