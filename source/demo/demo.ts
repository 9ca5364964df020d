/**
 * `xi-exec demo`: a real local fleet on loopback. A fresh controller home, six agents in their own
 * homes (separate processes, each with a few harmless sample scripts and its own tags), each paired
 * through the real ceremony (the demo reads each agent's code and types it, as an operator would),
 * a sample runbook of those scripts (sample-runbook.ts), then the console. Leaving the console (`q`, Ctrl-C, or a SIGINT, SIGTERM or SIGHUP) stops every
 * process it started and removes its directory.
 *
 * The demo is a face: it calls no other face. The CLI's command table (source/cli/commands/demo.ts)
 * gives it the console to open and, without a terminal, the tour to print; the agents' homes are
 * set up by the agent's own program (demo-processes.ts).
 */
import type {ChildProcess} from 'node:child_process';
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {hostname, tmpdir} from 'node:os';
import {join} from 'node:path';
import {controllerPaths, initControllerHome, openControllerRegistry, type ControllerPaths} from '../home.js';
import type {CommandIo} from '../io/command-io.js';
import {signalStatus, type ConsoleSignal} from '../io/signal-status.js';
import {freePort, setUpAgentHome, startDemoAgent, stopped} from './demo-processes.js';
import {pairFleet} from './pair-fleet.js';
import {demoFleet, sampleScripts} from './sample-fleet.js';
import {writeSampleRunbook} from './sample-runbook.js';

export type DemoPorts = {
	interactive: boolean;
	/** Opens the console on the demo's home as `caller`; resolves with its exit status. */
	openConsole: (paths: ControllerPaths, caller: string) => Promise<number>;
	/** Without a terminal: what the demo prints instead of the console (the fleet, one run). */
	tour: (paths: ControllerPaths, io: CommandIo) => Promise<void>;
};

export async function demoCommand(io: CommandIo, ports: DemoPorts): Promise<number> {
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
		return await Promise.race([runDemo(directory, children, io, ports), signalled]);
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

async function runDemo(directory: string, children: ChildProcess[], io: CommandIo, ports: DemoPorts): Promise<number> {
	const home = join(directory, 'controller');
	const paths = controllerPaths(home);
	const {caSha256} = await initControllerHome(home, new Date());
	// A runbook of the demo's own scripts, so the console's runbook screen (b) has one to open.
	writeSampleRunbook(paths);
	io.stdout(`Demo fleet in ${directory}\nController CA ${caSha256.slice(0, 16)}…\n\n`);

	const homes = new Map<string, string>(demoFleet.map(agent => [agent.name, join(directory, 'agents', agent.name)]));
	await Promise.all(demoFleet.map(async agent => {
		const agentHome = homes.get(agent.name)!;
		const scriptDirectory = join(agentHome, 'scripts');
		mkdirSync(scriptDirectory, {recursive: true, mode: 0o700});
		const scripts = [{name: 'uptime', path: '/usr/bin/uptime', options: {description: 'Load and uptime'}}];
		for (const [name, script] of Object.entries(sampleScripts(agent.name))) {
			const path = join(scriptDirectory, name);
			writeFileSync(path, script.body);
			chmodSync(path, 0o755);
			scripts.push({name, path, options: {description: script.description, ...(script.extra ?? {})}});
		}

		await setUpAgentHome(directory, {home: agentHome, name: agent.name, listen: `127.0.0.1:${await freePort()}`, tags: agent.tags, scripts}, children);
	}));

	await pairFleet(directory, paths, caSha256, homes, children, io);
	io.stdout('\nStarting the agents...\n');
	const registry = openControllerRegistry(paths);
	await Promise.all(demoFleet.map(async agent => startDemoAgent(directory, agent.name, homes.get(agent.name)!, children, registry)));

	if (ports.interactive) {
		return ports.openConsole(paths, `demo@${hostname()}`);
	}

	io.stdout('\n');
	await ports.tour(paths, io);
	io.stdout('\nRun `npm run demo` in a terminal to open the console on this fleet. The demo has stopped every process it started.\n');
	return 0;
}
