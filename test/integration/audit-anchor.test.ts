/* eslint-disable @typescript-eslint/no-explicit-any -- the tests read audit records loosely, as a reader of the log would. */
/**
 * The agent's audit head in a second place: after real runs on a real agent, its log emptied,
 * cut off or deleted is reported under both verifiers with an exact verdict and exit 1 —
 * `xi-exec-agent audit verify` against the anchor the agent writes with each checkpoint
 * (audit-head.json in its home), `xi-exec audit verify --cross` against the last head of that
 * agent's log the controller witnessed. The intact log verifies and says what it is anchored to.
 */
import {copyFileSync, mkdirSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentAnchorFile} from '../../agent/agent-audit.js';
import {agentPaths} from '../../agent/home.js';
import type {Anchor} from '../../source/audit/anchor.js';
import {readAnchor, writeAnchor} from '../../source/audit/anchor-file.js';
import {slotStride} from '../../source/audit/anchor-slots.js';
import {agentCli, controllerCli, createController, enrolAgent, freePort, installScript, runCli, startAgent, temporaryDirectory} from '../helpers/fleet.js';

const echo = '#!/bin/sh\nprintf "[%s]\\n" "$@"\n';

type Fleet = {controller: string; agentHome: string; log: string; anchor: Anchor; lines: string[]; witnessed: {seq: number; hash: string; ts: string}};

let fleet: Fleet;

test.before(async () => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'web1', port: freePort(), scripts: {echo: installScript('echo', echo)}});
	const running = await startAgent(agent);
	try {
		for (const word of ['one', 'two', 'three']) {
			const run = await runCli(controllerCli, ['run', 'echo', '--on', 'web1', '--', word], {XI_EXEC_HOME: controller});
			if (run.code !== 0) {
				throw new Error(run.stderr);
			}
		}
	} finally {
		// Stopping writes a checkpoint, and with it the anchor.
		await running.stop();
	}

	const log = agentPaths(agent.home).auditLog;
	const anchor = readAnchor(join(agent.home, agentAnchorFile)) as Anchor;
	const outcomes = readFileSync(join(controller, 'audit', 'controller.jsonl'), 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, any>).filter(record => record['event'] === 'run.outcome');
	const last = outcomes.at(-1)!;
	fleet = {controller, agentHome: agent.home, log, anchor, lines: readFileSync(log, 'utf8').split('\n').filter(Boolean), witnessed: {seq: last['agentHead'].seq - 1, hash: last['agentHead'].hash, ts: last['ts']}};
});

/** A copy of the agent's home whose log (and anchor) a case may damage. */
function copyOfHome(): {home: string; log: string} {
	const home = join(temporaryDirectory(), 'web1');
	const paths = agentPaths(fleet.agentHome);
	const copy = agentPaths(home);
	mkdirSync(copy.auditDirectory, {recursive: true, mode: 0o700});
	for (const name of ['config.json', 'allowlist.json', 'agent.key', 'agent.pem', 'ca.pem', 'pins.json', agentAnchorFile]) {
		copyFileSync(join(paths.home, name), join(copy.home, name));
	}

	copyFileSync(paths.auditLog, copy.auditLog);
	return {home, log: copy.auditLog};
}

const agentVerify = async (home: string) => runCli(agentCli, ['audit', 'verify'], {XI_EXEC_AGENT_HOME: home});
const crossVerify = async (agentLog: string) => runCli(controllerCli, ['audit', 'verify', '--cross', agentLog], {XI_EXEC_HOME: fleet.controller});
const said = (anchor: {seq: number; hash: string}, at: string, name: string) => `${name} says record ${anchor.seq} (hash ${anchor.hash.slice(0, 12)}…) was written at ${at}`;

test('the intact log verifies and says what it is anchored to, on both verifiers', async t => {
	t.is(fleet.anchor.seq, fleet.lines.length - 1, 'the anchor is the last record (the checkpoint written when the agent stopped)');
	t.true(fleet.witnessed.seq > 2, 'the controller witnessed the agent\'s log past its start (each run\'s end is sealed before its result is sent)');
	const local = await agentVerify(fleet.agentHome);
	t.is(local.code, 0, local.stdout);
	t.regex(local.stdout, new RegExp(`^ok: ${fleet.lines.length} records, chain intact, last checkpoint at ${fleet.anchor.seq}\\nanchor: anchored at record ${fleet.anchor.seq} \\(audit-head\\.json, ${fleet.anchor.at}\\)\\n$`));
	const cross = await crossVerify(fleet.log);
	t.is(cross.code, 0, cross.stdout);
	t.regex(cross.stdout, /cross: ok, 1 agent log agree with the controller/);
});

const truncated = (log: string, last: number, anchor: {seq: number; hash: string}, at: string, name: string) => `broken: ${log}: log truncated: the log ends at record ${last}, but ${said(anchor, at, name)}: records ${last + 1}–${anchor.seq} at least were cut off\n`;

const cases: Array<{title: string; damage: (log: string) => void; local: (log: string) => string; cross: (log: string) => string}> = [
	{
		title: 'emptied',
		damage: log => truncateSync(log, 0),
		local: log => `broken: ${log}: log emptied: the log has no records, but ${said(fleet.anchor, fleet.anchor.at, 'audit-head.json')}: it was emptied\n`,
		cross: log => `broken: ${log}: log emptied: it has no records, and an agent's log is never empty once it has started\n`,
	},
	{
		title: 'deleted',
		damage: log => rmSync(log),
		local: log => `broken: ${log}: log deleted: the log is missing, but ${said(fleet.anchor, fleet.anchor.at, 'audit-head.json')}: it was deleted\n`,
		cross: log => `broken: ${log}: log deleted: there is no such file (deleted, or not copied here: copy XI_EXEC_AGENT_HOME/audit/agent.jsonl with its rotated files agent.jsonl.N)\n`,
	},
	{
		title: 'truncated to its first record',
		damage: log => writeFileSync(log, fleet.lines[0]! + '\n'),
		local: log => truncated(log, 0, fleet.anchor, fleet.anchor.at, 'audit-head.json'),
		cross: log => truncated(log, 0, fleet.witnessed, fleet.witnessed.ts, 'the controller\'s witness of web1'),
	},
	{
		title: 'truncated after its second record',
		damage: log => writeFileSync(log, fleet.lines.slice(0, 2).join('\n') + '\n'),
		local: log => truncated(log, 1, fleet.anchor, fleet.anchor.at, 'audit-head.json'),
		cross: log => truncated(log, 1, fleet.witnessed, fleet.witnessed.ts, 'the controller\'s witness of web1'),
	},
];

for (const c of cases) {
	test(`an agent log ${c.title}: xi-exec-agent audit verify says so exactly, exit 1`, async t => {
		const copy = copyOfHome();
		c.damage(copy.log);
		const result = await agentVerify(copy.home);
		t.is(result.code, 1, result.stderr);
		t.true(result.stdout.endsWith(c.local(copy.log)), result.stdout);
	});

	test(`an agent log ${c.title}: xi-exec audit verify --cross says so exactly, exit 1`, async t => {
		const copy = copyOfHome();
		c.damage(copy.log);
		const result = await crossVerify(copy.log);
		t.is(result.code, 1, result.stderr);
		t.true(result.stdout.includes(c.cross(copy.log)), result.stdout);
	});
}

test('a log and its anchor both deleted: not ok, and the verdict says nothing is anchored', async t => {
	const copy = copyOfHome();
	rmSync(copy.log);
	rmSync(join(copy.home, agentAnchorFile));
	const result = await agentVerify(copy.home);
	t.is(result.code, 1);
	t.true(result.stdout.endsWith(`broken: ${copy.log}: not anchored: there is no log and no audit-head.json: nothing is anchored (if this agent ever started, both were deleted)\n`), result.stdout);
});

test('the anchor in the format older agents wrote (one JSON anchor) verifies as before', async t => {
	const copy = copyOfHome();
	writeAnchor(join(copy.home, agentAnchorFile), fleet.anchor);
	t.is(readFileSync(join(copy.home, agentAnchorFile), 'utf8'), JSON.stringify(fleet.anchor) + '\n');
	const result = await agentVerify(copy.home);
	t.is(result.code, 0, result.stdout);
	t.true(result.stdout.endsWith(`\nanchor: anchored at record ${fleet.anchor.seq} (audit-head.json, ${fleet.anchor.at})\n`), result.stdout);
});

test('the newest slot of the anchor torn: verify reads the slot before it, and a torn log tail is still caught', async t => {
	const copy = copyOfHome();
	const path = join(copy.home, agentAnchorFile);
	const newest = readFileSync(path).subarray(0, slotStride).includes(`"seq":${fleet.anchor.seq},`) ? 0 : slotStride;
	const fd = openSync(path, 'r+');
	writeSync(fd, 'torn', 100 + newest);
	closeSync(fd);
	const before = readAnchor(path) as Anchor;
	t.true(before.seq < fleet.anchor.seq, `the slot before holds an earlier checkpoint (${before.seq})`);
	const result = await agentVerify(copy.home);
	t.is(result.code, 0, result.stdout);
	const [read, damaged] = newest === 0 ? ['B', 'A'] : ['A', 'B'];
	t.true(result.stdout.endsWith(`\nanchor: anchored at record ${before.seq} (audit-head.json, ${before.at}); read from slot ${read}; slot ${damaged} does not verify (not an anchor with "n" and "sum"): a write torn by a crash, or an edit\n`), result.stdout);
	writeFileSync(copy.log, fleet.lines.slice(0, 1).join('\n') + '\n');
	const cut = await agentVerify(copy.home);
	t.is(cut.code, 1);
	t.true(cut.stdout.endsWith(truncated(copy.log, 0, before, before.at, 'audit-head.json')), cut.stdout);
});
