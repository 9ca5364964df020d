/** The console's run screen shows a secret argument (by the script's schema) only as its hash, once typed; the run gets the value. */
import test from 'ava';
import {hashSecret} from '../../source/protocol/secret-args.js';
import {FakeCore, demoFleet, reachable} from './helpers/fake-core.js';
import {keys, press, renderApp, waitForFrame} from './helpers/frames.js';

test('run: a secret argument is hidden while typed, and shown as its hash on the confirmation and while running', async t => {
	const scripts = [{name: 'set-password', description: 'Set a password', timeoutSeconds: 30, args: {type: 'array', prefixItems: [{type: 'string'}, {type: 'string', secret: true}], minItems: 2, items: false}}];
	const core = new FakeCore({discovery: demoFleet.map(record => reachable(record, scripts))});
	const console = await renderApp(core);
	t.teardown(console.unmount);
	await waitForFrame(console, 'web3   127.0.0.1:7446 reachable');
	await press(console, 'r', 'pick one');
	const prompt = await press(console, keys.enter, 'arguments');
	t.true(prompt.includes('This script takes a secret argument: what you type is hidden'), prompt);
	const typed = await press(console, 'alice S3cr3t-console', `> ${'•'.repeat('alice S3cr3t-console'.length)}`);
	t.false(typed.includes('S3cr3t-console'), 'nothing typed is on the screen');
	const confirm = await press(console, keys.enter, 'agents?');
	t.true(confirm.replaceAll('\n', '').includes(`Run set-password ["alice","${hashSecret('S3cr3t-console')}"`), confirm);
	t.false(confirm.replaceAll('\n', '').includes('S3cr3t-console'));
	const running = await press(console, keys.enter, 'starting');
	t.true(running.replaceAll('\n', '').includes(`set-password ["alice","${hashSecret('S3cr3t-console').slice(0, 40)}`), running);
	t.false(running.replaceAll('\n', '').includes('S3cr3t-console'));
	t.deepEqual(core.runs[0]!.request.args, ['alice', 'S3cr3t-console'], 'the run itself gets the value');
});
