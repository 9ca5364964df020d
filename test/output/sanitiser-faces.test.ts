/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read JSON answers loosely, as a client would. */
/**
 * One sanitiser for every face: a real script's output and a real allowlist description carrying
 * C0 escapes (clear screen), OSC 52 (write the clipboard), C1's CSI (U+009B), a right-to-left
 * override (U+202E) and a zero-width space (U+200B) reach no terminal raw, from any face we ship:
 * plain output shows each spelled out, `--json` keeps each as a JSON escape (the value parses back
 * exactly: escaped, not dropped), on the controller's CLI and the agent's.
 */
import {readFileSync, writeFileSync} from 'node:fs';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {safeJson, visible} from '../../source/output/visible.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, type RunningAgent} from '../helpers/fleet.js';

const pieces = {
	'C0 (clear screen)': '\u001B[2J',
	'OSC 52 (clipboard)': '\u001B]52;c;aGk=\u0007',
	'C1 CSI': '\u009B31m',
	'bidi override': '\u202E',
	'zero-width space': '\u200B',
};
const hostile = `A${Object.values(pieces).join('|')}Z`;
/** What must never appear raw in anything we print. */
const raw = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B\u202E]/;

let controller: string;
let agentHome: string;
let running: RunningAgent;

test.before(async () => {
	controller = await createController();
	const bytes = [...Buffer.from(hostile)].map(byte => `\\${byte.toString(8).padStart(3, '0')}`).join('');
	const agent = await enrolAgent(controller, {name: 'web1', port: freePort(), scripts: {hostile: installScript('hostile', `#!/bin/sh\nprintf '${bytes}\\n'\n`)}});
	agentHome = agent.home;
	// A description as whoever edits allowlist.json can write it.
	const allowlist = JSON.parse(readFileSync(agentPaths(agentHome).allowlist, 'utf8')) as {scripts: Record<string, {description: string}>};
	allowlist.scripts['hostile']!.description = hostile;
	writeFileSync(agentPaths(agentHome).allowlist, JSON.stringify(allowlist));
	running = await startAgent(agent);
});

test.after.always(async () => {
	await running?.stop();
});

const xiExec = async (...args: string[]) => runCli(controllerCli, args, {XI_EXEC_HOME: controller});
const xiExecAgent = async (...args: string[]) => runCli(agentCli, args, {XI_EXEC_AGENT_HOME: agentHome});

type Face = {face: string; output: () => Promise<string>; json?: (document: any) => string};

const faces: Face[] = [
	{face: 'xi-exec run (plain)', output: async () => (await xiExec('run', 'hostile', '--on', 'web1')).stdout},
	{face: 'xi-exec run --json', output: async () => (await xiExec('run', 'hostile', '--on', 'web1', '--json')).stdout, json: document => document.results[0].stdout},
	{face: 'xi-exec agents --json', output: async () => (await xiExec('agents', '--json')).stdout, json: document => document.agents[0].scripts.find((script: {name: string}) => script.name === 'hostile').description},
	{face: 'xi-exec-agent scripts (plain)', output: async () => (await xiExecAgent('scripts')).stdout},
	{face: 'xi-exec-agent scripts --json', output: async () => (await xiExecAgent('scripts', '--json')).stdout, json: document => document.scripts.hostile.description},
];

for (const {face, output, json} of faces) {
	test.serial(`${face}: no raw control, bidi or zero-width character; each is ${json ? 'a JSON escape' : 'spelled out'}`, async t => {
		const text = await output();
		t.false(raw.test(text), `a raw character reached the output: ${JSON.stringify(text)}`);
		if (json) {
			// Escaped, not dropped: the value is exactly what the host sent.
			t.is(json(JSON.parse(text)).replace(/\n$/, ''), hostile);
			for (const escape of ['\\u001b[2J', '\\u001b]52;c;aGk=\\u0007', '\\u009b31m', '\\u202e', '\\u200b']) {
				t.true(text.includes(escape), `${escape} in ${text}`);
			}
		} else {
			t.true(text.includes(visible(hostile)), text);
			t.true(text.includes('A\\x1b[2J|\\x1b]52;c;aGk=\\x07|\\x9b31m|\\u{202e}|\\u{200b}Z'), text);
		}
	});
}

const table: Array<[string, string, string, string]> = Object.entries(pieces).map(([name, text]) => [name, text, visible(text), safeJson(text)]);

test('the table: each piece, as plain output and as JSON', t => {
	t.deepEqual(table, [
		['C0 (clear screen)', '\u001B[2J', '\\x1b[2J', '"\\u001b[2J"'],
		['OSC 52 (clipboard)', '\u001B]52;c;aGk=\u0007', '\\x1b]52;c;aGk=\\x07', '"\\u001b]52;c;aGk=\\u0007"'],
		['C1 CSI', '\u009B31m', '\\x9b31m', '"\\u009b31m"'],
		['bidi override', '\u202E', '\\u{202e}', '"\\u202e"'],
		['zero-width space', '\u200B', '\\u{200b}', '"\\u200b"'],
	]);
	for (const [, text, , json] of table) {
		t.is(JSON.parse(json), text);
	}
});
