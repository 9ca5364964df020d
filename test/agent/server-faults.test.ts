/**
 * The agent's own faults are answered as its own: a real agent server (in this process, over
 * TLS on 127.0.0.1) whose allowlist or pin store fails when asked answers code `internal` with
 * the step named, logs it, and keeps serving; the peer's mistakes next to them (a malformed
 * line, an unknown type) are still answered as the peer's.
 */
import {join} from 'node:path';
import test from 'ava';
import {agentPaths, readAgentConfig, readPins} from '../../agent/home.js';
import type {LoadedAllowlist} from '../../agent/loaded-allowlist.js';
import {createAgentServer, type AgentServer} from '../../agent/server.js';
import {readTextFile} from '../../source/io/files.js';
import {controllerCredentials, createController, enrolAgent, rawExchange, requestLine} from '../helpers/fleet.js';

type Logged = {event: string; fields: Record<string, unknown>};

const controllerHome = await createController();
const controller = controllerCredentials(controllerHome);
const enrolled = await enrolAgent(controllerHome, {name: 'faulty', port: 0});
const paths = agentPaths(enrolled.home);
const faults = {allowlist: false, pins: false};
const logged: Logged[] = [];
let agent: AgentServer | undefined;

test.before(async () => {
	agent = createAgentServer({
		config: readAgentConfig(paths),
		credentials: {key: readTextFile(paths.key, 'key'), cert: readTextFile(paths.cert, 'cert'), ca: readTextFile(paths.ca, 'ca')},
		pins: readPins(paths),
		store: {
			install() {
				// Not asked here.
			},
			forget() {
				// Not asked here.
			},
			savePins() {
				if (faults.pins) {
					throw new Error(`cannot write ${join(enrolled.home, 'pins.json')}: disk full`);
				}
			},
		},
		allowlist(): LoadedAllowlist {
			if (faults.allowlist) {
				throw new Error('the allowlist vanished');
			}

			return new Map();
		},
		ownersFor: () => 'no owners here',
		runAsIds: () => ({}),
		log: (event, fields) => logged.push({event, fields}),
		now: Date.now,
	});
	await new Promise<void>(resolve => {
		agent!.server.listen(0, '127.0.0.1', resolve);
	});
});

test.after.always(async () => {
	await agent?.close();
});

const exchange = async (fields: Record<string, unknown> | string) => rawExchange(agent!.address().port, {ca: controller.ca, key: controller.key, cert: controller.cert, send: [typeof fields === 'string' ? fields : requestLine(fields)]});

const rows: Array<{title: string; fault?: keyof typeof faults; send: Record<string, unknown> | string; code: string; message: RegExp; event?: string}> = [
	{title: 'a description when the allowlist cannot be read', fault: 'allowlist', send: {type: 'describe'}, code: 'internal', message: /^internal error on the agent while handling describe; its log has the details$/, event: 'request.error'},
	{title: 'a new pin when the pins cannot be saved', fault: 'pins', send: {type: 'pin', caller: 'alice', serial: 'AB12'}, code: 'internal', message: /^pin failed on the agent: cannot write .*pins\.json: disk full$/, event: 'certificate.error'},
	{title: 'a line that is not JSON is still the peer\'s mistake', send: '{"v":1,\n', code: 'malformed', message: /./},
	{title: 'an unknown frame type is still the peer\'s mistake', send: {type: 'shell', caller: 'alice'}, code: 'unknown-type', message: /./},
];

for (const row of rows) {
	test.serial(`the agent's fault, answered as its own: ${row.title}`, async t => {
		const from = logged.length;
		faults.allowlist = row.fault === 'allowlist';
		faults.pins = row.fault === 'pins';
		const reply = await exchange(row.send);
		t.is(reply.frames.length, 1);
		t.like(reply.frames[0], {type: 'error', code: row.code});
		t.regex(String(reply.frames[0]?.['message']), row.message);
		if (row.event) {
			t.true(logged.slice(from).some(line => line.event === row.event), `${row.event} logged`);
		}

		faults.allowlist = false;
		faults.pins = false;
		const after = await exchange({type: 'describe'});
		t.like(after.frames[0], {type: 'description', agent: {name: 'faulty'}}, 'and it goes on serving');
	});
}
