/** How a pairing decides the transport it records: the operator's flags, else the request's proposal; refusals worded. */
import test from 'ava';
import {chooseTransport, describeTransport} from '../../source/pairing/transport-choice.js';

const broker = 'nats://broker.example.net:4222';
const other = 'nats://10.0.0.9:4222';

const cases: Array<[string, Parameters<typeof chooseTransport>[0], Parameters<typeof chooseTransport>[1], ReturnType<typeof chooseTransport>]> = [
	['a listening agent without a broker: direct TLS', {}, {name: 'web1', address: '10.0.0.5:7441'}, {ok: true, choice: {transport: 'tls'}}],
	['a listening agent naming a broker proposes both', {}, {name: 'web1', address: '10.0.0.5:7441', relay: broker}, {ok: true, choice: {transport: 'both', relay: broker}}],
	['an agent with no port proposes nats', {}, {name: 'kiosk7', address: 'none', relay: broker}, {ok: true, choice: {transport: 'nats', relay: broker}}],
	['the operator\'s transport and broker win', {transport: 'nats', relay: other}, {name: 'web1', address: '10.0.0.5:7441', relay: broker}, {ok: true, choice: {transport: 'nats', relay: other}}],
	['the operator\'s tls wins over a proposed broker', {transport: 'tls'}, {name: 'web1', address: '10.0.0.5:7441', relay: broker}, {ok: true, choice: {transport: 'tls'}}],
	['the operator\'s broker for an agent that names none', {transport: 'both', relay: broker}, {name: 'web1', address: '10.0.0.5:7441'}, {ok: true, choice: {transport: 'both', relay: broker}}],
	['the operator\'s broker alone makes a portless agent nats', {relay: broker}, {name: 'kiosk7', address: 'none'}, {ok: true, choice: {transport: 'nats', relay: broker}}],
	['no port and no broker anywhere', {}, {name: 'kiosk7', address: 'none'}, {ok: false, reason: 'agent kiosk7 is to be reached through the relay (transport nats), but no broker is named; pair with --relay nats://HOST:PORT, or set "relay" in the agent\'s config.json'}],
	['the relay without a broker', {transport: 'nats'}, {name: 'web1', address: '10.0.0.5:7441'}, {ok: false, reason: 'agent web1 is to be reached through the relay (transport nats), but no broker is named; pair with --relay nats://HOST:PORT, or set "relay" in the agent\'s config.json'}],
	['direct TLS to an agent with no port', {transport: 'tls'}, {name: 'kiosk7', address: 'none', relay: broker}, {ok: false, reason: 'agent kiosk7 listens on no address ("listen": "none"), so it can be reached only through the relay; pair it with --transport nats --relay nats://HOST:PORT'}],
	['both to an agent with no port', {transport: 'both', relay: broker}, {name: 'kiosk7', address: 'none'}, {ok: false, reason: 'agent kiosk7 listens on no address ("listen": "none"), so it can be reached only through the relay; pair it with --transport nats --relay nats://HOST:PORT'}],
	['a proposed broker that is not a nats URL', {}, {name: 'web1', address: '10.0.0.5:7441', relay: 'http://evil/'}, {ok: false, reason: 'agent web1 proposes the broker "http://evil/", which is not nats://HOST:PORT'}],
	['a proposed broker with credentials in it', {transport: 'nats', relay: broker}, {name: 'web1', address: '10.0.0.5:7441', relay: 'nats://user:pw@b:4222'}, {ok: false, reason: 'agent web1 proposes the broker "nats://user:pw@b:4222", which is not nats://HOST:PORT'}],
];

for (const [title, operator, request, expected] of cases) {
	test(title, t => {
		t.deepEqual(chooseTransport(operator, request), expected);
	});
}

test('a choice reads as the operator sees it', t => {
	t.is(describeTransport({transport: 'tls'}), 'direct TLS');
	t.is(describeTransport({transport: 'nats', relay: broker}), `relay ${broker}`);
	t.is(describeTransport({transport: 'both', relay: broker}), `TLS, else relay ${broker}`);
});
