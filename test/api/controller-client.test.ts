/**
 * The API server's client identity across a controller rotation (api/controller-client.ts): the
 * client made with the old certificate, and with it any broker connection its relay links hold,
 * is closed once the retirement delay has passed (runs started with it may still be going until
 * then), and at once when the server stops; the current one is never closed behind a run's back.
 */
import {writeFileSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {currentControllerClient} from '../../source/api/controller-client.js';
import type {ClientContext} from '../../source/dispatch/agent-connection.js';
import {controllerPaths, loadCertificateAuthority, loadControllerCredentials} from '../../source/home.js';
import {generateKeyPair, issueCertificate} from '../../source/pki/index.js';
import {createController} from '../helpers/fleet.js';

function fakeContexts() {
	const made: Array<{serial: string; closed: boolean}> = [];
	const create = (credentials: {cert: string}) => {
		const entry = {serial: credentials.cert.slice(-80), closed: false};
		made.push(entry);
		return {tls: undefined, relay: async () => Promise.reject(new Error('not here')), close: async () => {
			entry.closed = true;
		}} as unknown as ClientContext;
	};

	return {made, create};
}

async function rotate(home: string): Promise<void> {
	const paths = controllerPaths(home);
	const ca = await loadCertificateAuthority(paths);
	const next = await issueCertificate({ca, publicKey: (await generateKeyPair()).publicKey, identity: {role: 'controller'}, now: new Date()});
	// A later mtime than the first certificate's, whatever the clock's resolution.
	await delay(20);
	writeFileSync(paths.controllerCert, next.toString('pem'));
}

test('after a rotation the old client is closed once the retirement delay has passed, the new one is kept', async t => {
	const home = await createController();
	const paths = controllerPaths(home);
	const {made, create} = fakeContexts();
	const clients = currentControllerClient(paths, loadControllerCredentials(paths), {create, retireAfterMs: 200});
	const first = clients();
	t.is(clients(), first, 'unchanged: the same client');
	await rotate(home);
	const second = clients();
	t.not(second.serial, first.serial);
	t.deepEqual(made.map(entry => entry.closed), [false, false], 'not at once: a run may still use the old one');
	const started = Date.now();
	while (!made[0]!.closed && Date.now() - started < 30_000) {
		await delay(20);
	}

	t.deepEqual(made.map(entry => entry.closed), [true, false]);
	await clients.close();
	t.deepEqual(made.map(entry => entry.closed), [true, true]);
});

test('stopping the server closes the current client and those retired but not yet closed', async t => {
	const home = await createController();
	const paths = controllerPaths(home);
	const {made, create} = fakeContexts();
	const clients = currentControllerClient(paths, loadControllerCredentials(paths), {create, retireAfterMs: 3_600_000});
	clients();
	await rotate(home);
	clients();
	t.deepEqual(made.map(entry => entry.closed), [false, false]);
	await clients.close();
	t.deepEqual(made.map(entry => entry.closed), [true, true]);
});
