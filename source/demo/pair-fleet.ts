/**
 * The demo pairs each agent through the real ceremony: the controller's pairing listener on
 * loopback, `xi-exec-agent pair` per agent, and the demo reading each agent's code and typing it,
 * as an operator would. Every pairing event goes to the controller's audit trail.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {hostname} from 'node:os';
import {createInterface} from 'node:readline';
import {openControllerAudit} from '../audit/controller-log.js';
import {loadCertificateAuthority, loadServerCredentials, openControllerRegistry, readControllerCertificate, type ControllerPaths} from '../home.js';
import type {CommandIo} from '../io/command-io.js';
import {pairingAuditFields} from '../pairing/audit-fields.js';
import {formatCode} from '../pairing/code.js';
import {openPairingListener} from '../pairing/listener.js';
import {agentCli, demoStdio} from './demo-processes.js';

export async function pairFleet(directory: string, paths: ControllerPaths, caSha256: string, homes: ReadonlyMap<string, string>, children: ChildProcess[], io: CommandIo): Promise<void> {
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

	io.stdout('Pairing each agent through the real ceremony (the demo reads each code and types it):\n');
	for (const [name, home] of homes) {
		const stdio = demoStdio(directory, `pair-${name}`);
		const child = spawn(process.execPath, [agentCli, 'pair', '--controller', listener.address, '--ca-sha256', caSha256, '--json'], {
			env: {...process.env, XI_EXEC_AGENT_HOME: home},
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
				const approval = await listener.approve(name, event.code!);
				io.stdout(approval.ok
					? `  ${name.padEnd(7)} agent ${formatCode(event.code!)} = controller ${approval.controllerCode}  approved\n`
					: `  ${name.padEnd(7)} ${approval.reason}\n`);
			} else if (event.event === 'refused') {
				io.stdout(`  ${name.padEnd(7)} refused: ${event.reason}\n`);
			}
		}

		await exited;
	}

	await listener.close();
	await audit.close();
}
