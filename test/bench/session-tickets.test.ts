/**
 * The bench's TLS servers send no session tickets (bench/no-session-tickets.cnf, given to every
 * host process at start by bench/hosts.ts), so the round trips the delaying proxy counts hold no
 * ticket flight; and they still demand a client certificate. Real agent-host and bare-host
 * processes on a fleet of one; a plain node:tls server with the same options in this process (no
 * such configuration) shows that the probe does count tickets when there are some. No timing.
 */
import {constants} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {connect, createServer, type Server} from 'node:tls';
import test from 'ava';
import type {BareHostInput} from '../../bench/bare-host.js';
import {agentHost, floorHost, freePortBlock} from '../../bench/environment.js';
import {createFleet, script} from '../../bench/fleet.js';
import {startHosts} from '../../bench/hosts.js';
import {sessionTickets} from '../../bench/session-tickets.js';
import {createClientContext} from '../../source/dispatch/agent-connection.js';

/** Whether a client without a certificate completes a request (false: the server refused it). */
function answersWithoutCertificate(host: string, port: number, ca: string): Promise<boolean> {
	return new Promise(resolve => {
		let bytes = 0;
		const socket = connect({host, port, ca: [ca], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined});
		socket.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
		});
		socket.on('error', () => resolve(false));
		socket.on('close', () => resolve(bytes > 0));
	});
}

test('the bench\'s agents and floor servers send no session tickets and still require a client certificate', async t => {
	t.timeout(600_000);
	const root = mkdtempSync(join(tmpdir(), 'xi-exec-tickets-'));
	process.env['BENCH_FLEET_CACHE'] = join(root, 'fleets');
	const port = await freePortBlock(1);
	const fleet = await createFleet(root, 1, port);
	const agent = fleet.agents[0]!;
	const agents = await startHosts('agent-host.ts', [[agent.home]], root);
	const floor = await startHosts('bare-host.ts', [{script: script.path, servers: [{port, host: floorHost, key: join(agent.home, 'agent.key'), cert: join(agent.home, 'agent.pem'), ca: join(agent.home, 'ca.pem')}]} satisfies BareHostInput], root);
	const context = createClientContext(fleet.credentials);
	const control: Server = createServer({
		key: readFileSync(join(agent.home, 'agent.key')),
		cert: readFileSync(join(agent.home, 'agent.pem')),
		ca: [readFileSync(join(agent.home, 'ca.pem'))],
		requestCert: true,
		rejectUnauthorized: true,
		minVersion: 'TLSv1.3',
		secureOptions: constants.SSL_OP_NO_TICKET,
	}, socket => {
		socket.end('hello\n');
	});
	t.teardown(async () => {
		control.close();
		await context.close();
		await agents.stop();
		await floor.stop();
		rmSync(root, {recursive: true, force: true});
	});
	await new Promise<void>(resolve => {
		control.listen(0, '127.0.0.1', resolve);
	});
	const controlPort = (control.address() as {port: number}).port;

	t.is(await sessionTickets(agentHost, agent.port, context.tls), 0, 'agent');
	t.is(await sessionTickets(floorHost, port, context.tls), 0, 'floor');
	t.true(await sessionTickets('127.0.0.1', controlPort, context.tls) > 0, 'the same options without the configuration send tickets: the probe counts them');

	const ca = fleet.credentials.ca;
	t.false(await answersWithoutCertificate(agentHost, agent.port, ca), 'the agent refuses a client without a certificate');
	t.false(await answersWithoutCertificate(floorHost, port, ca), 'the floor refuses a client without a certificate');
});
