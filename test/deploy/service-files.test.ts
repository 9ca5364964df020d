/**
 * The service files and the installer, checked with tools we did not write: `systemd-analyze
 * verify` on each systemd unit (it exits 0 on unknown keys and bad values, so any output on stderr
 * fails), `shellcheck -s sh` and `busybox ash -n` on install.sh and the OpenRC and procd scripts.
 */
import {spawnSync} from 'node:child_process';
import {chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test from 'ava';
import {repoRoot, temporaryDirectory} from '../helpers/fleet.js';

const packaging = join(repoRoot, 'packaging');
const units = readdirSync(join(packaging, 'services', 'systemd')).map(name => join(packaging, 'services', 'systemd', name));
const scripts = [join(packaging, 'install.sh'), join(packaging, 'compose', 'docker-entrypoint.sh'), ...['openrc', 'procd'].flatMap(kind => readdirSync(join(packaging, 'services', kind)).map(name => join(packaging, 'services', kind, name)))];

function has(tool: string): boolean {
	return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function skipWithout(t: {log: (message: string) => void; pass: () => void}, tool: string): boolean {
	if (has(tool)) {
		return false;
	}

	t.log(`skipped: ${tool} is not installed (.ci/run installs it from Debian's archive)`);
	t.pass();
	return true;
}

test('both units and every script are here', t => {
	t.deepEqual(units.map(unit => unit.slice(packaging.length + 1)).sort(), ['services/systemd/xi-exec-agent.service', 'services/systemd/xi-exec.service']);
	t.deepEqual(scripts.map(script => script.slice(packaging.length + 1)).sort(), ['compose/docker-entrypoint.sh', 'install.sh', 'services/openrc/xi-exec', 'services/openrc/xi-exec-agent', 'services/procd/xi-exec', 'services/procd/xi-exec-agent']);
});

test('systemd-analyze verify says nothing about either unit, as install.sh writes them', t => {
	if (skipWithout(t, 'systemd-analyze')) {
		return;
	}

	const directory = temporaryDirectory('xi-exec-units-');
	const bin = join(directory, 'bin');
	mkdirSync(bin);
	for (const program of ['xi-exec', 'xi-exec-agent']) {
		writeFileSync(join(bin, program), '#!/bin/sh\n');
		chmodSync(join(bin, program), 0o755);
	}

	for (const unit of units) {
		const written = join(directory, unit.split('/').at(-1)!);
		writeFileSync(written, readFileSync(unit, 'utf8').replaceAll('@BINDIR@', bin).replaceAll('@LISTEN@', '127.0.0.1:8443'));
		const verified = spawnSync('systemd-analyze', ['verify', written], {encoding: 'utf8', cwd: directory});
		t.is(verified.status, 0, verified.stderr);
		t.is(verified.stderr, '', `${unit}`);
	}

	// The check can fail: an unknown key is reported on stderr (and still exits 0).
	const broken = join(directory, 'broken.service');
	writeFileSync(broken, readFileSync(units[0]!, 'utf8').replaceAll('@BINDIR@', bin).replaceAll('@LISTEN@', '127.0.0.1:8443').replace('[Service]', '[Service]\nDelegateEverything=yes'));
	t.regex(spawnSync('systemd-analyze', ['verify', broken], {encoding: 'utf8', cwd: directory}).stderr, /Unknown key 'DelegateEverything'/);
});

test('the agent unit delegates its cgroup, restarts on failure and stops with SIGTERM to the agent alone', t => {
	const unit = readFileSync(join(packaging, 'services/systemd/xi-exec-agent.service'), 'utf8');
	for (const line of ['Delegate=yes', 'Restart=on-failure', 'KillMode=mixed', 'KillSignal=SIGTERM', 'ExecStart=@BINDIR@/xi-exec-agent start', 'Environment=XI_EXEC_AGENT_HOME=/var/lib/xi-exec-agent', 'Environment=OPENSSL_CONF=/etc/xi-exec-agent.openssl.cnf']) {
		t.regex(unit, new RegExp(`^${line.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
	}

	t.notRegex(unit, /^(User|ProtectControlGroups|NoNewPrivileges|MemoryDenyWriteExecute)=/m);
	const controller = readFileSync(join(packaging, 'services/systemd/xi-exec.service'), 'utf8');
	t.regex(controller, /^User=xi-exec$/m);
	t.regex(controller, /^ExecStart=@BINDIR@\/xi-exec serve --listen @LISTEN@$/m);
	t.regex(controller, /^NoNewPrivileges=yes$/m);
});

test('every agent service and the Compose agent image name the OpenSSL configuration install.sh writes, which sets NumTickets = 0 where Node reads it', t => {
	const conf = '/etc/xi-exec-agent.openssl.cnf';
	t.regex(readFileSync(join(packaging, 'install.sh'), 'utf8'), new RegExp(`^openssl_conf=\\$\\(\\[ "\\$role" = agent \\] && echo ${conf.replaceAll('.', '\\.')} `, 'm'));
	t.regex(readFileSync(join(packaging, 'services/openrc/xi-exec-agent'), 'utf8'), new RegExp(`^export OPENSSL_CONF=${conf}$`, 'm'));
	t.regex(readFileSync(join(packaging, 'services/procd/xi-exec-agent'), 'utf8'), new RegExp(`^\\tprocd_set_param env XI_EXEC_AGENT_HOME=/var/lib/xi-exec-agent OPENSSL_CONF=${conf}$`, 'm'));
	const dockerfile = readFileSync(join(packaging, 'compose/Dockerfile'), 'utf8');
	t.regex(dockerfile, new RegExp(`^COPY services/openssl-agent\\.cnf ${conf}$`, 'm'));
	t.regex(dockerfile, new RegExp(`^ENV XI_EXEC_AGENT_HOME=/var/lib/xi-exec-agent OPENSSL_CONF=${conf}$`, 'm'));
	t.regex(readFileSync(join(packaging, 'compose/dockerignore'), 'utf8'), /^!services\/openssl-agent\.cnf$/m);
	const cnf = readFileSync(join(packaging, 'services/openssl-agent.cnf'), 'utf8');
	t.regex(cnf, /^nodejs_conf = nodejs_init$/m);
	t.regex(cnf, /^\[tls_defaults\]\nNumTickets = 0$/m);
});

test('shellcheck -s sh passes install.sh, the OpenRC and procd scripts and the images\' entry point', t => {
	if (skipWithout(t, 'shellcheck')) {
		return;
	}

	for (const script of scripts) {
		const checked = spawnSync('shellcheck', ['-s', 'sh', script], {encoding: 'utf8'});
		t.is(checked.status, 0, checked.stdout);
	}
});

test('busybox ash parses install.sh, the OpenRC and procd scripts and the images\' entry point', t => {
	if (skipWithout(t, 'busybox')) {
		return;
	}

	for (const script of scripts) {
		const parsed = spawnSync('busybox', ['ash', '-n', script], {encoding: 'utf8'});
		t.is(parsed.status, 0, `${script}: ${parsed.stderr}`);
		t.is(parsed.stderr, '');
	}

	// And it would notice: a script with an unclosed `if` does not parse.
	const directory = temporaryDirectory('xi-exec-ash-');
	writeFileSync(join(directory, 'broken.sh'), 'if true; then\n echo x\n');
	t.not(spawnSync('busybox', ['ash', '-n', join(directory, 'broken.sh')]).status, 0);
});
