/**
 * `xi-exec demo`: a real local fleet on loopback. A fresh controller home, six agents in their own
 * homes (separate processes, each with a few harmless sample scripts and its own tags), each paired
 * through the real ceremony (the demo reads each agent's code and types it, as an operator would),
 * then the console. Leaving the console (`q`, Ctrl-C, or a SIGINT, SIGTERM or SIGHUP) stops every
 * process it started and removes its directory.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {hostname, tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {allowScript, initAgent} from '../../agent/commands.js';
import {agentPaths, readAgentConfig, writeAgentConfig} from '../../agent/home.js';
import {controllerPaths, initControllerHome, loadCertificateAuthority, loadServerCredentials, openControllerRegistry, readControllerCertificate} from '../home.js';
import {formatCode} from '../pairing/code.js';
import {openPairingListener} from '../pairing/listener.js';
import {pairingAuditFields} from '../pairing/audit-fields.js';
import {openControllerAudit} from '../audit/controller-log.js';
import type {RegistryStore} from '../registry/store.js';
import {agentsCommand} from './agents.js';
import type {CommandIo} from '../io/command-io.js';
import {runCommand} from './run.js';
import {signalStatus, type ConsoleSignal} from '../io/signal-status.js';

const agentCli = fileURLToPath(new URL('../../agent/cli.js', import.meta.url));

type DemoAgent = {name: string; tags: string[]};

const fleet: DemoAgent[] = [
	{name: 'web1', tags: ['env=production', 'role=web', 'site=london']},
	{name: 'web2', tags: ['env=production', 'role=web', 'site=paris']},
	{name: 'db1', tags: ['env=production', 'role=db', 'site=london']},
	{name: 'cache1', tags: ['env=production', 'role=cache', 'site=paris']},
	{name: 'web3', tags: ['env=staging', 'role=web', 'site=london']},
	{name: 'db2', tags: ['env=staging', 'role=db', 'site=paris']},
];

/** Sample scripts, written per agent so their output says where they ran. Harmless: they only print. */
function sampleScripts(agent: string): Record<string, {body: string; description: string; extra?: Record<string, unknown>}> {
	return {
		'check-service': {
			description: 'Check the web service (db2 fails, to show a failure)',
			body: `#!/bin/sh\nfor step in config sockets workers upstream; do echo "${agent}: checking $step"; sleep 0.4; done\n${agent === 'db2' ? 'echo "upstream: connection refused" >&2\nexit 3\n' : 'echo "service healthy"\n'}`,
		},
		'disk-usage': {description: 'Disk usage of /', body: '#!/bin/sh\ndf -h / | tail -n 1\n'},
		'echo-args': {description: 'Print each argument on its own line, literally', body: '#!/bin/sh\nfor a in "$@"; do printf \'[%s]\\n\' "$a"; done\n'},
		'slow-count': {description: 'Count to 10, one number every half second', body: `#!/bin/sh\ni=1\nwhile [ $i -le 10 ]; do echo "${agent} $i"; i=$((i+1)); sleep 0.5; done\n`},
		'restart-app': {
			description: 'Pretend to restart the app (asks for confirmation, at most 3 hosts)',
			body: `#!/bin/sh\necho "restarting app on ${agent} (demo: nothing is restarted)"\nsleep 1\necho "app restarted"\n`,
			extra: {confirm: true, maxTargets: 3},
		},
	};
}

export async function demoCommand(io: CommandIo, options: {interactive: boolean}): Promise<number> {
	const directory = mkdtempSync(join(tmpdir(), 'xi-exec-demo-'));
	const children: ChildProcess[] = [];
	const stopAll = () => {
		for (const child of children) {
			child.kill('SIGTERM');
		}
	};

	process.on('exit', stopAll);
	// A signal leaves the demo as `q` does, at any step: the console (when open) sees it too and
	// gives the terminal back; here every process the demo started is stopped and its directory removed.
	let onSignal: (status: number) => void = () => undefined;
	const signalled = new Promise<number>(resolve => {
		onSignal = resolve;
	});
	const signalHandlers = (Object.keys(signalStatus) as ConsoleSignal[]).map(signal => [signal, () => {
		onSignal(signalStatus[signal]);
	}] as const);
	for (const [signal, handler] of signalHandlers) {
		process.once(signal, handler);
	}

	try {
		return await Promise.race([runDemo(directory, children, io, options), signalled]);
	} finally {
		stopAll();
		await Promise.all(children.map(async child => stopped(child)));
		rmSync(directory, {recursive: true, force: true});
		process.off('exit', stopAll);
		for (const [signal, handler] of signalHandlers) {
			process.off(signal, handler);
		}
	}
}

/** Resolves once a child has exited; one that outlives a SIGTERM by 5 s is killed. */
async function stopped(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) {
		return;
	}

	const exited = new Promise(resolve => child.once('exit', resolve));
	const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
	await exited;
	clearTimeout(timer);
}

/**
 * A demo process's stdio: nothing of the terminal. Its stderr goes to a log file in the demo's
 * directory, and it runs in a session of its own (detached): a process that shares the terminal
 * restores the terminal's settings as it exits (Node does, for a TTY on its stdio), which left the
 * console deaf in canonical echo mode after a plain `kill` of one agent.
 */
function demoStdio(directory: string, name: string) {
	mkdirSync(join(directory, 'logs'), {recursive: true, mode: 0o700});
	const log = openSync(join(directory, 'logs', `${name}.log`), 'a', 0o600);
	return {stdio: ['ignore', 'pipe', log] as ['ignore', 'pipe', number], detached: true, close: () => closeSync(log)};
}

async function runDemo(directory: string, children: ChildProcess[], io: CommandIo, options: {interactive: boolean}): Promise<number> {
	const home = join(directory, 'controller');
	const paths = controllerPaths(home);
	const {caSha256} = await initControllerHome(home, new Date());
	io.stdout(`Demo fleet in ${directory}\nController CA ${caSha256.slice(0, 16)}…\n\n`);

	const audit = openControllerAudit(paths);
	const listener = await openPairingListener({
		listen: {host: '127.0.0.1', port: 0},
		server: loadServerCredentials(paths),
		ca: await loadCertificateAuthority(paths),
		controllerCertificate: readControllerCertificate(paths),
		controllerName: hostname(),
		registry: openControllerRegistry(paths),
		replace: false,
		timeoutMs: 60_000,
		now: () => new Date(),
		onEvent(event) {
			// The demo reports each pairing itself, below; the audit trail gets every event.
			const fields = pairingAuditFields(event);
			if (fields) {
				void audit.append(fields).catch(() => undefined);
			}
		},
	});

	const homes = new Map<string, string>();
	await Promise.all(fleet.map(async agent => {
		const agentHome = join(directory, 'agents', agent.name);
		homes.set(agent.name, agentHome);
		const scriptDirectory = join(agentHome, 'scripts');
		mkdirSync(scriptDirectory, {recursive: true, mode: 0o700});
		const port = await freePort();
		const paths = agentPaths(agentHome);
		initAgent(paths, {name: agent.name, listen: `127.0.0.1:${port}`, tags: agent.tags});
		allowScript(paths, 'uptime', '/usr/bin/uptime', {description: 'Load and uptime'});
		for (const [name, script] of Object.entries(sampleScripts(agent.name))) {
			const path = join(scriptDirectory, name);
			writeFileSync(path, script.body);
			chmodSync(path, 0o755);
			allowScript(paths, name, path, {description: script.description, ...(script.extra ?? {})});
		}
	}));

	io.stdout('Pairing each agent through the real ceremony (the demo reads each code and types it):\n');
	for (const agent of fleet) {
		const stdio = demoStdio(directory, `pair-${agent.name}`);
		const child = spawn(process.execPath, [agentCli, 'pair', '--controller', listener.address, '--ca-sha256', caSha256, '--json'], {
			env: {...process.env, XI_EXEC_AGENT_HOME: homes.get(agent.name)},
			stdio: stdio.stdio,
			detached: stdio.detached,
		});
		stdio.close();
		children.push(child);
		const lines = createInterface({input: child.stdout!});
		const exited = new Promise<number | null>(resolve => child.once('exit', resolve));
		for await (const line of lines) {
			const event = JSON.parse(line) as {event: string; code?: string; reason?: string};
			if (event.event === 'code') {
				const approval = await listener.approve(agent.name, event.code!);
				io.stdout(approval.ok
					? `  ${agent.name.padEnd(7)} agent ${formatCode(event.code!)} = controller ${approval.controllerCode}  approved\n`
					: `  ${agent.name.padEnd(7)} ${approval.reason}\n`);
			} else if (event.event === 'refused') {
				io.stdout(`  ${agent.name.padEnd(7)} refused: ${event.reason}\n`);
			}
		}

		await exited;
	}

	await listener.close();
	await audit.close();
	io.stdout('\nStarting the agents...\n');
	const registry = openControllerRegistry(paths);
	await Promise.all(fleet.map(agent => startDemoAgent(directory, agent.name, homes.get(agent.name)!, children, registry)));

	if (options.interactive) {
		const {createConsoleCore} = await import('../ui/console-core.js');
		const {startConsole} = await import('../ui/start-console.js');
		return startConsole(createConsoleCore(paths, {caller: 'demo@' + hostname(), pairListen: {host: '127.0.0.1', port: 0}}), 'xi-exec demo');
	}

	io.stdout('\n');
	await agentsCommand(paths, {on: [], json: false, timeoutSeconds: 3}, io);
	io.stdout('\n$ xi-exec run check-service --on env=production\n');
	await runCommand(paths, {script: 'check-service', args: [], on: ['env=production'], parallel: 64, timeoutSeconds: 30, json: false, dryRun: false}, {...io, onInterrupt() {
		// The demo's own handler stops everything.
	}});
	io.stdout('\nRun `npm run demo` in a terminal to open the console on this fleet. The demo has stopped every process it started.\n');
	return 0;
}

/**
 * Starts one demo agent. The port it was paired with was free when picked, but on a busy host
 * another process can take it before the agent starts: then the agent moves to a new port (its
 * configuration and the controller's registry both), a few times at most.
 */
async function startDemoAgent(directory: string, name: string, home: string, children: ChildProcess[], registry: RegistryStore): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		const outcome = await startDemoAgentOnce(directory, name, home, children);
		if (outcome === 'listening') {
			return;
		}

		if (outcome.portTaken && attempt < 5) {
			await moveDemoAgent(name, home, registry, await freePort());
			continue;
		}

		throw new Error(`agent ${name} exited with ${outcome.code}; its log is ${join(directory, 'logs', `${name}.log`)}`);
	}
}

async function moveDemoAgent(name: string, home: string, registry: RegistryStore, port: number): Promise<void> {
	const paths = agentPaths(home);
	writeAgentConfig(paths, {...readAgentConfig(paths), listen: `127.0.0.1:${port}`});
	await registry.update(current => ({
		...current,
		agents: current.agents.map(record => (record.name === name ? {...record, address: `127.0.0.1:${port}`} : record)),
	}));
}

function startDemoAgentOnce(directory: string, name: string, home: string, children: ChildProcess[]): Promise<'listening' | {code: number | null; portTaken: boolean}> {
	const logPath = join(directory, 'logs', `${name}.log`);
	const logStart = existsSync(logPath) ? statSync(logPath).size : 0;
	const stdio = demoStdio(directory, name);
	const child = spawn(process.execPath, [agentCli, 'start'], {env: {...process.env, XI_EXEC_AGENT_HOME: home}, stdio: stdio.stdio, detached: stdio.detached});
	stdio.close();
	children.push(child);
	return new Promise(resolve => {
		const lines = createInterface({input: child.stdout!});
		lines.on('line', line => {
			if (line.includes('"event":"listening"')) {
				resolve('listening');
			}
		});
		child.once('exit', code => {
			const log = readFileSync(logPath).subarray(logStart).toString();
			resolve({code, portTaken: log.includes('EADDRINUSE')});
		});
	});
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const {port} = server.address() as {port: number};
			server.close(() => resolve(port));
		});
	});
}
