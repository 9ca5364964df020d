/**
 * Talking to an agent is when its certificate is renewed (below the threshold) and when it gets a
 * rotating controller's next serial: `run` (CLI, API, console) and `agents` call this for the
 * agents that answered. Never fails its caller: a problem comes back in words.
 */
import {existsSync} from 'node:fs';
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {AuditLog} from '../audit/file-log.js';
import type {ControllerPaths} from '../home.js';
import type {AgentRecord} from '../registry/model.js';
import {agentValidity, renewalDue} from './expiry.js';
import {formatMaintenance, somethingHappened} from './report.js';

export type ContactPorts = {paths: ControllerPaths; context: ClientContext; caller: string; now: () => Date; audit: () => AuditLog};

/** What is looked at of each agent that answered: whether its renewal is due (maintainAgents reads their records anew). */
export type ContactedAgent = Pick<AgentRecord, 'name' | 'certificateIssued' | 'certificateExpires'>;

/** What was done, one line per agent, or undefined when nothing needed doing. */
export async function maintainAfterContact(ports: ContactPorts, agents: readonly ContactedAgent[]): Promise<string | undefined> {
	// Most contacts have nothing to do: only then is the certificate machinery (and its PKI library) loaded.
	if (agents.length === 0 || (!existsSync(ports.paths.rotation) && !agents.some(agent => renewalDue(agentValidity(agent), ports.now())))) {
		return undefined;
	}

	try {
		const {maintainAgents} = await import('./maintain.js');
		const audit = ports.audit();
		const report = await maintainAgents(agents, {paths: ports.paths, context: ports.context, caller: ports.caller, now: ports.now, timeoutMs: 10_000, record: async (event, fields) => {
			await audit.append({...fields, event, caller: ports.caller});
		}});
		return somethingHappened(report) ? formatMaintenance(report) : undefined;
	} catch (error) {
		return `keeping certificates current failed: ${(error as Error).message}\n`;
	}
}

/** The same text as notes on stderr, one `xi-exec: certificates: ...` line each. */
export function certificateNotes(text: string): string {
	return text.split('\n').filter(Boolean).map(line => `xi-exec: certificates: ${line}\n`).join('');
}
