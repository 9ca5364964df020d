/** A rotation's state on disk survives crashes and a second process completing it at the same time. */
import {existsSync, renameSync, rmSync} from 'node:fs';
import test from 'ava';
import {completeRotation, currentControllerSerial, pendingAgents, readRotation, startRotation, withAnnounced} from '../../source/certificates/rotation.js';
import {controllerPaths, loadCertificateAuthority, loadControllerCredentials} from '../../source/home.js';
import {createController} from '../helpers/fleet.js';

async function rotating() {
	const paths = controllerPaths(await createController());
	const state = await startRotation(paths, await loadCertificateAuthority(paths), new Date(), 'test');
	return {paths, state};
}

test('completing twice (two processes at once) is harmless, and leaves the new certificate in use', async t => {
	const {paths, state} = await rotating();
	completeRotation(paths);
	t.notThrows(() => completeRotation(paths));
	t.is(currentControllerSerial(paths), state.serial);
	t.is(readRotation(paths), undefined);
});

test('a state file that outlived its completion (a crash after the renames) is cleared when read', async t => {
	const {paths, state} = await rotating();
	renameSync(paths.nextControllerKey, paths.controllerKey);
	renameSync(paths.nextControllerCert, paths.controllerCert);
	t.true(existsSync(paths.rotation));
	t.is(readRotation(paths), undefined);
	t.false(existsSync(paths.rotation));
	t.is(currentControllerSerial(paths), state.serial);
});

test('a crash between the two renames is finished by the next load of the credentials', async t => {
	const {paths, state} = await rotating();
	renameSync(paths.nextControllerKey, paths.controllerKey);
	loadControllerCredentials(paths);
	t.is(currentControllerSerial(paths), state.serial);
	t.false(existsSync(paths.nextControllerCert));
	t.is(readRotation(paths), undefined);
});

test('next files removed by hand: the state is refused with what to do, not half-used', async t => {
	const {paths, state} = await rotating();
	rmSync(paths.nextControllerKey);
	rmSync(paths.nextControllerCert);
	t.throws(() => readRotation(paths), {message: `${paths.rotation} names serial ${state.serial}, but controller.next.key and .pem are gone; remove ${paths.rotation} to start the rotation again.`});
});

test('an agent paired again while a rotation is pending is asked again; a renewal does not matter', t => {
	const state = {version: 1 as const, serial: 'bb', previousSerial: 'aa', startedAt: '', caller: 't', announced: []};
	const web1 = {name: 'web1', pairedAt: '2026-01-01T00:00:00.000Z'};
	const web2 = {name: 'web2', pairedAt: '2026-01-01T00:00:00.000Z'};
	const announced = withAnnounced(state, [web1, web2]);
	t.deepEqual(pendingAgents(announced, [web1, web2]), []);
	t.deepEqual(pendingAgents(announced, [{...web1, pairedAt: '2026-02-01T00:00:00.000Z'}, web2]), ['web1']);
	t.deepEqual(pendingAgents(announced, [web1, web2, {name: 'web3', pairedAt: '2026-02-01T00:00:00.000Z'}]), ['web3'], 'a newly paired agent gets the serial at its first contact');
});

test('credentials read moments ago (a one-shot\'s early dial) are used as they are, unless a rotation is finished now: then read anew', async t => {
	const {paths, state} = await rotating();
	const before = loadControllerCredentials(paths);
	const early = {...before};
	t.is(loadControllerCredentials(paths, early), early, 'the same files, not read again');
	renameSync(paths.nextControllerKey, paths.controllerKey);
	const after = loadControllerCredentials(paths, early);
	t.not(after, early);
	t.not(after.cert, before.cert);
	t.deepEqual(after, loadControllerCredentials(paths));
	t.is(currentControllerSerial(paths), state.serial);
});
