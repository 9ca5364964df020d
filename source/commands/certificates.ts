/**
 * `xi-exec renew [--on SELECTOR]`, `xi-exec rotate [--force]`, `xi-exec unpair NAME`: certificates
 * over time, from the command line. Renewal also happens by itself after every contact with an
 * agent (source/certificates/maintain.ts); these force it, rotate the controller's own
 * certificate, and take an agent out of the fleet.
 */
import {withControllerAudit} from '../audit/controller-log.js';
import type {AuditLog} from '../audit/file-log.js';
import {tellUnpaired} from '../certificates/agent-requests.js';
import {maintainAgents} from '../certificates/maintain.js';
import {formatMaintenance} from '../certificates/report.js';
import {completeRotation, pendingAgents, readRotation, startRotation} from '../certificates/rotation.js';
import {createClientContext, type ClientContext} from '../dispatch/agent-connection.js';
import {XiError} from '../errors.js';
import {loadCertificateAuthority, loadControllerCredentials, openControllerRegistry, type ControllerPaths} from '../home.js';
import {visible} from '../output/visible.js';
import {findAgent, revokedSerials, unpairAgent} from '../registry/model.js';
import {refreshBroker} from '../relay/broker-refresh.js';
import {resolveTargets} from '../registry/resolve-targets.js';
import {defaultCaller, type CommandIo} from '../io/command-io.js';

const timeoutMs = 10_000;

/** The audit log and the means to reach agents, for one command: both closed when `work` ends. */
async function withAudit<T>(paths: ControllerPaths, work: (audit: AuditLog, context: ClientContext) => Promise<T>): Promise<T> {
	const context = createClientContext(loadControllerCredentials(paths));
	try {
		return await withControllerAudit(paths, undefined, async audit => work(audit, context));
	} finally {
		await context.close();
	}
}

function maintenanceOptions(paths: ControllerPaths, audit: AuditLog, context: ClientContext) {
	return {
		paths,
		context,
		caller: defaultCaller(),
		now: () => new Date(),
		timeoutMs,
		record: async (event: string, fields: Record<string, unknown>) => {
			await audit.append({...fields, event, caller: defaultCaller()});
		},
	};
}

export async function renewCommand(paths: ControllerPaths, input: {on: string[]; json?: boolean}, io: CommandIo): Promise<number> {
	const agents = resolveTargets(await openControllerRegistry(paths).read(), input.on, {defaultAll: true});
	return withAudit(paths, async (audit, context) => {
		const report = await maintainAgents(agents, {...maintenanceOptions(paths, audit, context), forceRenewal: true});
		await audit.checkpoint();
		io.stdout(input.json ? `${JSON.stringify(report)}\n` : formatMaintenance(report));
		return report.renewalFailed.length === 0 && !report.renewalQueued ? 0 : 1;
	});
}

export async function rotateCommand(paths: ControllerPaths, input: {force: boolean}, io: CommandIo): Promise<number> {
	return withAudit(paths, async (audit, context) => {
		const options = maintenanceOptions(paths, audit, context);
		let rotation = readRotation(paths);
		if (rotation) {
			io.stdout(`Resuming the rotation to controller serial ${rotation.serial} (started ${rotation.startedAt}).\n`);
		} else {
			// Recorded once the next certificate is issued and before any of it is written (fail closed).
			rotation = await startRotation(paths, await loadCertificateAuthority(paths), options.now(), options.caller, async started => {
				await options.record('controller.rotation-started', {serial: started.serial, previousSerial: started.previousSerial});
			});
			io.stdout(`New controller certificate, serial ${rotation.serial}; announcing it to every agent over the current one (serial ${rotation.previousSerial}).\n`);
		}

		const registry = await openControllerRegistry(paths).read();
		const report = await maintainAgents(registry.agents, options);
		io.stdout(formatMaintenance(report));
		if (report.rotationCompleted) {
			await audit.checkpoint();
			return 0;
		}

		const unreached = pendingAgents(readRotation(paths)!, (await openControllerRegistry(paths).read()).agents);
		if (input.force) {
			await options.record('controller.rotated', {serial: rotation.serial, previousSerial: rotation.previousSerial, forced: true, unreached});
			completeRotation(paths);
			await audit.checkpoint();
			io.stdout(`Forced: the controller now uses serial ${rotation.serial}. ${unreached.join(', ')} never received it and will refuse this controller: pair ${unreached.length === 1 ? 'it' : 'each'} again (\`xi-exec pair --listen HOST:PORT --replace\` here, \`xi-exec-agent pair --controller HOST:PORT\` on the host).\n`);
			return 0;
		}

		await audit.checkpoint();
		io.stdout(`Rotation pending: the controller keeps serial ${rotation.previousSerial} until ${unreached.join(', ')} ${unreached.length === 1 ? 'has' : 'have'} serial ${rotation.serial}. Run \`xi-exec rotate\` again when ${unreached.length === 1 ? 'it is' : 'they are'} reachable (any run that reaches ${unreached.length === 1 ? 'it' : 'them'} also hands it over), or \`xi-exec rotate --force\` to switch now and pair ${unreached.length === 1 ? 'it' : 'them'} again.\n`);
		return 1;
	});
}

export async function unpairCommand(paths: ControllerPaths, input: {name: string}, io: CommandIo): Promise<number> {
	const store = openControllerRegistry(paths);
	const registry = await store.read();
	const agent = findAgent(registry, input.name);
	if (!agent) {
		throw new XiError('AGENT_UNKNOWN', `No agent named ${input.name} is registered; \`xi-exec agents\` lists them.`);
	}

	return withAudit(paths, async (audit, context) => {
		// The intent first (fail closed: no record, the agent is neither told nor revoked), the outcome after.
		await audit.append({event: 'agent.unpairing', agent: agent.name, serial: agent.serial, caller: defaultCaller()});
		const told = await tellUnpaired(agent, {context, timeoutMs, caller: defaultCaller(), revoked: revokedSerials(registry)});
		await store.update(current => unpairAgent(current, agent.name, new Date().toISOString()));
		await audit.append({event: 'agent.unpaired', agent: agent.name, serial: agent.serial, caller: defaultCaller(), told: told.ok, ...(told.ok ? {} : {reason: told.reason})});
		// A relay agent loses its broker user: the reload drops its connection even if it was not told.
		const broker = agent.transport === 'nats' || agent.transport === 'both' ? await refreshBroker(paths, audit) : undefined;
		await audit.checkpoint();
		io.stdout(`Unpaired ${agent.name}: removed from the registry; certificate serial ${agent.serial} is revoked and refused from now on.\n`);
		io.stdout(told.ok
			? `${agent.name} deleted its key, certificate and pins, and stopped.\n`
			: `${agent.name} could not be told (${visible(told.reason)}); on its host, stop xi-exec-agent and delete agent.key, agent.pem and pins.json from its home.\n`);
		if (broker) {
			io.stdout(`${broker.sentence}\n`);
		}

		return 0;
	});
}
