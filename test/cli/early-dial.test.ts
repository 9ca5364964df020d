/**
 * The early dial's two steps over real sockets (cli/early-socket.ts, cli/early-dial.ts): the TCP
 * connection opened from the command line and the registry, then TLS started on it. A TCP
 * connection that has already failed (refused) gives no early connection at all (a TLS socket made
 * on it would wait for ever, and the run with it), and is closed; so does anything but a one-shot.
 */
import {once} from 'node:events';
import {createServer, type AddressInfo} from 'node:net';
import test from 'ava';
import {dialEarly} from '../../source/cli/early-dial.js';
import {openEarlySocket} from '../../source/cli/early-socket.js';
import {controllerPaths, openControllerRegistry} from '../../source/home.js';
import {createController, enrolAgent, freePort} from '../helpers/fleet.js';

async function homeWithAgentAt(port: number): Promise<string> {
	const home = await createController();
	await enrolAgent(home, {name: 'web1', port, scripts: {}});
	await openControllerRegistry(controllerPaths(home)).update(registry => ({...registry, agents: registry.agents.map(record => ({...record, address: `127.0.0.1:${port}`}))}));
	return home;
}

test('a one-shot opens its TCP connection from the registry; TLS starts on that very socket', async t => {
	const server = createServer(() => undefined);
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	t.teardown(() => server.close());
	const port = (server.address() as AddressInfo).port;
	const home = await homeWithAgentAt(port);
	const early = openEarlySocket(['run', 'hello', '--on', 'web1', '--home', home], {});
	t.truthy(early);
	t.is(early!.address.port, port);
	const [accepted] = await once(server, 'connection') as [import('node:net').Socket];
	const connection = dialEarly(early);
	t.truthy(connection);
	t.truthy(connection!.take('web1'), 'taken once, for its agent');
	// The TLS ClientHello arrives on the connection accepted before TLS was even loaded.
	const [hello] = await once(accepted, 'data') as [Buffer];
	t.is(hello[0], 0x16, 'a TLS handshake record');
	connection!.close();
	early!.socket.destroy();
	accepted.destroy();
});

test('a TCP connection already refused gives no early connection, and is closed', async t => {
	const home = await homeWithAgentAt(freePort());
	const early = openEarlySocket(['run', 'hello', '--on', 'web1', '--home', home], {});
	t.truthy(early);
	await new Promise(resolve => early!.socket.once('close', resolve));
	t.true(early!.failed());
	t.is(dialEarly(early), undefined);
	t.true(early!.socket.destroyed);
});

test('no socket for anything but a one-shot, or with NODE_TLS_REJECT_UNAUTHORIZED=0', async t => {
	const home = await homeWithAgentAt(freePort());
	t.is(openEarlySocket(['agents', '--home', home], {}), undefined);
	t.is(openEarlySocket(['run', 'hello', '--on', 'web9', '--home', home], {}), undefined, 'an agent the registry does not have');
	t.is(openEarlySocket(['run', 'hello', '--on', 'web1', '--home', home], {NODE_TLS_REJECT_UNAUTHORIZED: '0'}), undefined);
	t.is(dialEarly(undefined), undefined);
});
