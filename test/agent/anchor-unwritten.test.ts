/**
 * The agent's log goes on when its anchor cannot be written (verify then finds the anchor behind), and
 * the operator hears it once per reason, with the next step: the failure was swallowed silently.
 */
import {mkdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentAnchorFile, openAgentAudit} from '../../agent/agent-audit.js';
import {agentPaths, readAgentConfig} from '../../agent/home.js';
import {readAnchor} from '../../source/audit/anchor-file.js';
import {createController, enrolAgent, freePort} from '../helpers/fleet.js';

test('an anchor that cannot be written is logged once per reason, the log goes on, and a later write heals it', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'web1', port: freePort(), scripts: {}});
	const paths = agentPaths(agent.home);
	const anchorPath = join(agent.home, agentAnchorFile);
	rmSync(anchorPath, {force: true});
	mkdirSync(join(anchorPath, 'in-the-way'), {recursive: true});
	const events: Array<[string, Record<string, unknown>]> = [];
	const audit = openAgentAudit(paths, readAgentConfig(paths), (event, fields) => events.push([event, fields]));
	for (const word of ['one', 'two']) {
		await audit.append({event: 'test.note', word} as never);
		await audit.checkpoint();
	}

	const unwritten = events.filter(([event]) => event === 'audit.anchor-unwritten');
	t.is(unwritten.length, 1);
	t.like(unwritten[0]?.[1], {path: anchorPath});
	t.regex(String(unwritten[0]?.[1]['next']), /owner and mode/);
	rmSync(anchorPath, {recursive: true});
	await audit.append({event: 'test.note', word: 'three'} as never);
	await audit.checkpoint();
	await audit.close();
	t.is(typeof readAnchor(anchorPath), 'object');
});
