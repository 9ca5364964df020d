import test from 'ava';
import {FakeCore, pendingRequest} from './helpers/fake-core.js';
import {keys, press, renderApp, selected, until, waitForFrame, type Console} from './helpers/frames.js';

const blank = (count: number) => '\n'.repeat(count);
const pairingHints = '↑↓ select request · type the agent\'s code, Enter approves · x reject · Esc back';
const head = `xi-exec                                                                  pairing
Listening on 127.0.0.1:7400. On the new host: xi-exec-agent pair --controller
127.0.0.1:7400`;
const key = 'key 7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:7F:…';
const rows = {
	web4: 'web4           127.0.0.1:7451        from 127.0.0.1       env=staging role=web',
	db3: 'db3            127.0.0.1:7452        from 127.0.0.1       env=staging role=db',
};

/** The console on its pairing screen, with the listener open and two requests pending. */
async function openPairing(core: FakeCore): Promise<Console> {
	const console = await renderApp(core);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'p', 'Listening on');
	core.pairing!.emit(pendingRequest('web4', 0, {env: 'staging', role: 'web'}));
	core.pairing!.emit(pendingRequest('db3', 1, {env: 'staging', role: 'db'}));
	await waitForFrame(console, '2 pending requests');
	return console;
}

test('pairing: p opens the listener; requests appear live with name, address, source and tags', async t => {
	const core = new FakeCore({codes: {web4: '482913'}});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	t.is(await press(console, 'p', 'Listening on'), `${head}
No pending requests.${blank(19)}${pairingHints}`);

	core.pairing!.emit(pendingRequest('web4', 0, {env: 'staging', role: 'web'}));
	t.is(await waitForFrame(console, '1 pending request:'), `${head}
1 pending request:
${rows.web4}

${key}
Code shown on web4:${blank(15)}${pairingHints}`);
	t.deepEqual(selected(console), [rows.web4, '']);
	t.deepEqual(console.largest(), {lines: 23, columns: 80});
});

test('pairing: a matching code shows both codes side by side, and approves', async t => {
	const core = new FakeCore({codes: {web4: '482913', db3: '105577'}});
	const console = await openPairing(core);
	t.teardown(console.unmount);
	await press(console, '4', 'Code shown on web4: 4\n');
	t.is(await press(console, '82913', 'web4: 482 913'), `${head}
2 pending requests:
${rows.web4}
${rows.db3}

${key}
Code shown on web4: 482 913${blank(14)}${pairingHints}`);
	t.is(await press(console, keys.enter, 'approved'), `${head}
2 pending requests:
${rows.web4}
${rows.db3}

${key}
Code shown on web4:
web4: agent 482 913  =  controller 482 913  approved; waiting for the agent to
confirm${blank(12)}${pairingHints}`);
	t.deepEqual(core.pairing!.approvals, [{agent: 'web4', code: '482913'}]);

	core.pairing!.emit({event: 'paired', agent: 'web4', ceremony: 'ceremony-web4', serial: '01', address: '127.0.0.1:7451', tags: {}});
	t.is(await waitForFrame(console, 'is paired'), `${head}
1 pending request:
${rows.db3}

${key}
Code shown on db3:
web4 is paired and in the registry.${blank(14)}${pairingHints}`);
});

test('pairing: a wrong code says only "does not match", never the controller\'s code; three end it', async t => {
	const core = new FakeCore({codes: {web4: '482913', db3: '105577'}});
	const console = await openPairing(core);
	t.teardown(console.unmount);
	await press(console, keys.down, () => selected(console)[0] === rows.db3);
	await press(console, '222222', 'db3: 222 222');
	t.is(await press(console, keys.enter, 'does not match'), `${head}
2 pending requests:
${rows.web4}
${rows.db3}

${key}
Code shown on db3:
db3: does not match (2 tries left)${blank(13)}${pairingHints}`);

	await press(console, '105 578', 'db3: 105 578');
	await press(console, keys.enter, '1 try left');
	await press(console, '482913', 'db3: 482 913');
	t.regex(await press(console, keys.enter, 'last try'), /\ndb3: does not match; that was the last try, the request from db3 is refused\n/);
	core.pairing!.emit({event: 'refused', agent: 'db3', ceremony: 'ceremony-db3', source: '127.0.0.1', reason: 'three wrong codes'});
	t.regex(await waitForFrame(console, '1 pending request'), /\ndb3 refused: three wrong codes\n/);

	t.deepEqual(core.pairing!.approvals.map(approval => approval.code), ['222222', '105578', '482913']);
	for (const frame of console.frames) {
		t.false(/105.?577/.test(frame), 'the controller\'s code for db3 is never on screen');
	}
});

test('pairing: x rejects the selected request; Esc closes the listener and reloads the fleet', async t => {
	const core = new FakeCore();
	const console = await openPairing(core);
	t.teardown(console.unmount);
	await press(console, keys.down, () => selected(console)[0] === rows.db3);
	t.regex(await press(console, 'x', 'refused'), /\n1 pending request:\nweb4 .*\n\nkey .*\nCode shown on web4:\ndb3 refused: rejected by the operator\n/);
	t.deepEqual(core.pairing!.rejected, ['db3']);
	t.is(core.discoveries, 1);
	await press(console, keys.escape, 'Filter (/)');
	await until(() => core.pairing!.closed);
	await until(() => core.discoveries === 2);
	t.pass('the listener is closed, and the fleet asked again: a new agent may have been paired');
});
