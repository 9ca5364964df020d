/**
 * Statuses say what happened: over a real agent and a real long script, a run whose controller
 * connection drops, and a run under an agent that is shutting down, end `cancelled` with a reason
 * that says so and an audit record that names no canceller; a cancel the controller sends reads
 * "cancelled by the controller" and names who asked.
 */
import {randomUUID} from 'node:crypto';
import {readFileSync} from 'node:fs';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {controllerCredentials, createController, enrolAgent, freePort, installFixture, rawExchange, requestLine, startAgent, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

const finishes = (agent: TestAgent, id: string) => readFileSync(agentPaths(agent.home).auditLog, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['event'] === 'run.finish' && record['requestId'] === id);

async function fleet(t: {teardown: (fn: () => Promise<void>) => void}): Promise<{agent: TestAgent; running: RunningAgent; credentials: ReturnType<typeof controllerCredentials>}> {
	const controllerHome = await createController();
	const agent = await enrolAgent(controllerHome, {name: 'web1', port: freePort(), scripts: {sleep: installFixture('sleep-long.sh')}});
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	return {agent, running, credentials: controllerCredentials(controllerHome)};
}

const cases = [
	{
		how: 'the controller\'s connection drops mid-run',
		stop: async (_running: RunningAgent, socket: {destroy: () => void}) => socket.destroy(),
		reason: 'stopped: the connection to the controller was lost (not a cancel)',
		cancelledBy: undefined,
	},
	{
		how: 'the agent shuts down mid-run',
		stop: async (running: RunningAgent) => running.stop(),
		reason: 'stopped: the agent is shutting down (not a cancel)',
		cancelledBy: undefined,
	},
	{
		how: 'the controller sends a cancel',
		stop: async (_running: RunningAgent, socket: {write: (line: string) => void}, id: string) => socket.write(requestLine({type: 'cancel', id, caller: 'alice@ops'})),
		reason: 'cancelled by the controller',
		cancelledBy: 'alice@ops',
	},
];

for (const c of cases) {
	test(`${c.how}: the run ends cancelled, and its reason and audit record say what happened`, async t => {
		const {agent, running, credentials} = await fleet(t);
		const id = randomUUID();
		const started = new Promise<void>(resolve => {
			void rawExchange(agent.port, {ca: credentials.ca, key: credentials.key, cert: credentials.cert, onSecure(socket) {
				socket.write(requestLine({type: 'run', id, script: 'sleep', args: [], caller: 'alice@ops'}));
				socket.on('data', (chunk: Buffer) => {
					if (chunk.toString().includes('"type":"started"')) {
						resolve();
						void c.stop(running, socket, id);
					}
				});
			}});
		});
		await started;
		const [finish] = await waitFor(() => {
			const found = finishes(agent, id);
			return found.length > 0 ? found : undefined;
		}, 'the run\'s end in the agent\'s audit log');
		t.like(finish, {status: 'cancelled', reason: c.reason});
		t.is(finish!['cancelledBy'], c.cancelledBy);
	});
}
