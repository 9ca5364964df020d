/**
 * Strict modes over the real `xi-exec-agent start`: each file of the agent's home made writable
 * by its group or by others, a private key open to others, a file given to another user, a
 * symbolic link in place of a file: the agent refuses to start (exit 2, HOME_UNSAFE) with the
 * path, the mode and the command that fixes it, and leaves no audit record (it never opened its
 * log); the neighbours that are safe (0644 certificates, a 0640-free key, a 0755 home) start.
 */
import {chmodSync, chownSync, existsSync, mkdirSync, renameSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {agentPaths} from '../../agent/home.js';
import {homeModeProblem} from '../../agent/home-modes.js';
import {lookupUser} from '../../agent/users.js';
import {agentCli, createController, enrolAgent, freePort, runCli, startAgent} from '../helpers/fleet.js';

const isRoot = process.getuid?.() === 0;
const nobody = lookupUser('nobody');
const uid = process.getuid?.() ?? 0;

test.serial('the agent refuses to start while its home is open to others, naming the path, the mode and the fix', async t => {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name: 'strict1', port: freePort()});
	const paths = agentPaths(agent.home);
	const policy = join(agent.home, 'policy.json');
	writeFileSync(policy, JSON.stringify({rules: []}), {mode: 0o644});
	mkdirSync(paths.auditDirectory, {mode: 0o700});
	const cases: Array<{path: string; mode: number; message: string}> = [
		{path: agent.home, mode: 0o777, message: `${agent.home} is writable by its group (mode 777); fix it with \`chmod go-w ${agent.home}\``},
		{path: agent.home, mode: 0o702, message: `${agent.home} is writable by others (mode 702); fix it with \`chmod go-w ${agent.home}\``},
		{path: paths.config, mode: 0o666, message: `${paths.config} is writable by its group (mode 666); fix it with \`chmod go-w ${paths.config}\``},
		{path: paths.config, mode: 0o602, message: `${paths.config} is writable by others (mode 602); fix it with \`chmod go-w ${paths.config}\``},
		{path: paths.allowlist, mode: 0o620, message: `${paths.allowlist} is writable by its group (mode 620); fix it with \`chmod go-w ${paths.allowlist}\``},
		{path: paths.allowlist, mode: 0o606, message: `${paths.allowlist} is writable by others (mode 606); fix it with \`chmod go-w ${paths.allowlist}\``},
		{path: policy, mode: 0o664, message: `${policy} is writable by its group (mode 664); fix it with \`chmod go-w ${policy}\``},
		{path: policy, mode: 0o646, message: `${policy} is writable by others (mode 646); fix it with \`chmod go-w ${policy}\``},
		{path: paths.pins, mode: 0o622, message: `${paths.pins} is writable by its group (mode 622); fix it with \`chmod go-w ${paths.pins}\``},
		{path: paths.ca, mode: 0o646, message: `${paths.ca} is writable by others (mode 646); fix it with \`chmod go-w ${paths.ca}\``},
		{path: paths.auditDirectory, mode: 0o770, message: `${paths.auditDirectory} is writable by its group (mode 770); fix it with \`chmod go-w ${paths.auditDirectory}\``},
		{path: paths.auditDirectory, mode: 0o703, message: `${paths.auditDirectory} is writable by others (mode 703); fix it with \`chmod go-w ${paths.auditDirectory}\``},
		{path: paths.key, mode: 0o644, message: `${paths.key} is a private key open to its group (mode 644); fix it with \`chmod 600 ${paths.key}\``},
		{path: paths.key, mode: 0o604, message: `${paths.key} is a private key open to others (mode 604); fix it with \`chmod 600 ${paths.key}\``},
	];
	for (const c of cases) {
		const before = statSync(c.path).mode & 0o7777;
		chmodSync(c.path, c.mode);
		const result = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
		chmodSync(c.path, before);
		t.is(result.code, 2, c.message);
		t.is(result.stderr, `xi-exec-agent: Refusing to start: ${c.message}. Anyone who can change these files can change what this agent runs. (HOME_UNSAFE)\n`);
		t.false(existsSync(paths.auditLog), `${c.message}: no audit record, the log was never opened`);
	}

	// A symbolic link in place of the allowlist would lead anywhere.
	renameSync(paths.allowlist, `${paths.allowlist}.real`);
	symlinkSync(`${paths.allowlist}.real`, paths.allowlist);
	const linked = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
	t.is(linked.stderr, `xi-exec-agent: Refusing to start: ${paths.allowlist} is a symbolic link; keep the file itself there. Anyone who can change these files can change what this agent runs. (HOME_UNSAFE)\n`);
	renameSync(`${paths.allowlist}.real`, paths.allowlist);

	if (isRoot && nobody) {
		chownSync(paths.config, nobody.uid, nobody.gid);
		const owned = await runCli(agentCli, ['start'], {XI_EXEC_AGENT_HOME: agent.home});
		chownSync(paths.config, 0, 0);
		t.is(owned.stderr, `xi-exec-agent: Refusing to start: ${paths.config} is owned by uid ${nobody.uid}, neither root nor the agent's user (uid 0); fix it with \`chown 0 ${paths.config}\`. Anyone who can change these files can change what this agent runs. (HOME_UNSAFE)\n`);
	} else {
		t.log('SKIPPED the case of a file owned by another user: it needs root');
	}

	// The neighbours: readable but not writable by others is fine, and so is a 0755 home.
	chmodSync(agent.home, 0o755);
	chmodSync(paths.config, 0o644);
	chmodSync(paths.ca, 0o644);
	const running = await startAgent(agent);
	t.teardown(async () => running.stop());
	t.true(existsSync(paths.auditLog), 'started');
});

test('homeModeProblem: the first unsafe entry, in order; a sticky bit exempts nothing in a home', t => {
	const entry = (path: string, kind: 'directory' | 'file' | 'key', mode: number, owner = uid) => ({path, kind, facts: {uid: owner, mode, directory: (mode & 0o170_000) === 0o40_000}});
	t.is(homeModeProblem([entry('/h', 'directory', 0o40700), entry('/h/agent.key', 'key', 0o100600)], uid), undefined);
	t.is(homeModeProblem([entry('/h', 'directory', 0o41777)], uid), '/h is writable by its group (mode 1777); fix it with `chmod go-w /h`');
	t.is(homeModeProblem([entry('/h', 'directory', 0o40700), entry('/h/agent.key', 'key', 0o100640)], uid), '/h/agent.key is a private key open to its group (mode 640); fix it with `chmod 600 /h/agent.key`');
	t.is(homeModeProblem([entry('/h/agent.key', 'key', 0o100400)], uid), undefined, 'read-only to its owner is fine');
	t.is(homeModeProblem([entry('/h/config.json', 'file', 0o40700)], uid), '/h/config.json is a directory; remove it or restore it');
	t.is(homeModeProblem([entry('/h/config.json', 'file', 0o100644, 0)], 1000), undefined, 'root may own what an unprivileged agent reads');
});
