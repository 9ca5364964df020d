/**
 * A dry run has no history file, so its event stream's past is what the live run keeps
 * (run-events.ts): a client that joins after one host has answered still gets that host's
 * agent-finished, once, in order, through the real REST API and agents. web2's auth hook answers
 * only once the late client has its first event, so the join is after web1's answer by
 * construction, not by timing.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {installScript, startAgent, temporaryDirectory} from '../helpers/fleet.js';
import {call, createToken, followEvents, startApiFleet, type SseMessage} from './api-fleet.js';

const hello = {body: '#!/bin/sh\necho "hello $*"\n', description: 'Say hello'};

test('a dry run\'s late follower gets the results of the hosts that answered before it joined', async t => {
	const fleet = await startApiFleet([{name: 'web1', scripts: {hello}}, {name: 'web2', scripts: {hello}}]);
	t.teardown(async () => fleet.close());
	const marker = join(temporaryDirectory(), 'answer');
	const hook = installScript('slow-hook.mjs', `#!${process.execPath}\nimport {existsSync} from 'node:fs';\nconst wait = () => existsSync(${JSON.stringify(marker)}) ? (process.stdout.write('{"allow":true,"reason":"slow hook"}\\n'), process.exit(0)) : setTimeout(wait, 20);\nwait();\n`);
	const web2 = fleet.agents[1]!;
	await web2.running.stop();
	const config = agentPaths(web2.home).config;
	writeFileSync(config, JSON.stringify({...JSON.parse(readFileSync(config, 'utf8')), hook, hookInterpreter: process.execPath}));
	web2.running = await startAgent(web2);
	const {token} = await createToken(fleet.paths, 'admin', ['*'], ['all']);

	const accepted = await call(fleet, 'POST', '/v1/runs', {token, body: {script: 'hello', on: ['all'], dryRun: true, wait: false}});
	t.is(accepted.status, 202, accepted.text);
	const events = `/v1/runs/${accepted.json().requestId as string}/events`;
	let late: Promise<{messages: SseMessage[]}> | undefined;
	const first = await followEvents(fleet, events, token, message => {
		const event = JSON.parse(message.data);
		if (event.type === 'agent-finished' && event.result.agent === 'web1') {
			late = followEvents(fleet, events, token, () => {
				if (!existsSync(marker)) {
					writeFileSync(marker, '');
				}
			});
		}
	});
	t.truthy(late, first.text);
	const joined = await late!;
	const kept = (messages: SseMessage[]) => messages.filter(message => !message.id?.includes('.')).map(message => ({id: message.id, event: JSON.parse(message.data)}));
	const answers = (messages: SseMessage[]) => kept(messages).flatMap(({event}) => (event.type === 'agent-finished' ? [[event.result.agent, event.result.status, event.result.reason]] : []));
	t.deepEqual(kept(joined.messages).map(({id, event}) => `${id} ${event.type as string}`), ['0 run-started', '1 agent-finished', '2 agent-finished', '3 run-finished']);
	t.deepEqual(answers(joined.messages), answers(first.messages));
	t.deepEqual(answers(first.messages).map(([agent, status]) => `${agent as string} ${status as string}`), ['web1 ok', 'web2 ok']);
	t.deepEqual(joined.messages.map(message => message.id), [...new Set(joined.messages.map(message => message.id))], 'each event once');
});
