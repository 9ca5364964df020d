/**
 * One real agent for a security table: a controller, an agent enrolled with real certificates and
 * started as a real `xi-exec-agent start` process with the allowlist a table writes straight into
 * allowlist.json (the agent's own checks at load are under test, not `allow`'s), and one run over
 * mutual TLS with the controller's certificate, with the records it left in the agent's audit log.
 */
import {randomUUID} from 'node:crypto';
import {chmodSync, chownSync, readFileSync, writeFileSync} from 'node:fs';
import {agentPaths, readAgentConfig, writeAgentConfig, writeAllowlistFile} from '../../agent/home.js';
import type {AllowlistEntry} from '../../agent/allowlist.js';
import {controllerCredentials, createController, enrolAgent, freePort, logEvents, rawExchange, requestLine, startAgent, temporaryDirectory, waitFor, type RunningAgent, type TestAgent} from '../helpers/fleet.js';

export type TableAgent = {controller: string; agent: TestAgent; running: RunningAgent};

export type Entries = Record<string, Partial<AllowlistEntry> & {path: string}>;

export async function tableAgent(name: string, entries: Entries, options: {env?: NodeJS.ProcessEnv; configure?: (agent: TestAgent) => void} = {}): Promise<TableAgent> {
	const controller = await createController();
	const agent = await enrolAgent(controller, {name, port: freePort()});
	const paths = agentPaths(agent.home);
	writeAgentConfig(paths, {...readAgentConfig(paths), limits: {...readAgentConfig(paths).limits, handshakeTimeoutMs: 60_000}});
	writeAllowlistFile(paths, {scripts: Object.fromEntries(Object.entries(entries).map(([script, entry]) => [script, {description: script, timeoutSeconds: 60, ...entry}]))});
	options.configure?.(agent);
	const running = await startAgent(agent, options.env ? {env: options.env} : {});
	return {controller, agent, running};
}

export type Outcome = {status: string; stdout: string; stderr: string; reason: string | undefined; events: string[]; records: Array<Record<string, unknown>>; frames: Array<Record<string, unknown>>};

/** One run as the controller asks for it; its result, and the agent's audit records for its request id. */
export async function runOn(target: TableAgent, script: string, args: string[] = [], fields: Record<string, unknown> = {}): Promise<Outcome> {
	const id = randomUUID();
	const reply = await rawExchange(target.agent.port, {...controllerCredentials(target.controller), send: [requestLine({type: 'run', id, script, args, caller: 'ops', ...fields})]});
	const result = reply.frames.find(frame => frame['type'] === 'result');
	// Other runs may append while this reads: the last line may be half written (this run's records are whole before its result is sent).
	const lines = readFileSync(agentPaths(target.agent.home).auditLog, 'utf8').split('\n').slice(0, -1);
	const records = lines.map(line => JSON.parse(line) as Record<string, unknown>).filter(record => record['requestId'] === id);
	const text = (stream: string) => reply.frames.filter(frame => frame['type'] === stream).map(frame => frame['data'] as string).join('');
	return {status: String(result?.['status']), stdout: text('stdout'), stderr: text('stderr'), reason: result?.['reason'] as string | undefined, events: records.map(record => String(record['event'])), records, frames: reply.frames};
}

export async function reload(target: TableAgent): Promise<void> {
	const from = target.running.lines.length;
	target.running.process.kill('SIGHUP');
	await waitFor(() => logEvents(target.running, 'allowlist.reloaded', from)[0], 'the agent to reload');
}

/** A root-owned 0755 directory for one table's files (mkdtemp makes 0700). */
export function baseDirectory(prefix: string): string {
	const directory = temporaryDirectory(prefix);
	chmodSync(directory, 0o755);
	return directory;
}

/** An executable file (0755), owned by `owner` when given. */
export function executable(path: string, body: string, owner?: number): string {
	writeFileSync(path, body, {mode: 0o755});
	chmodSync(path, 0o755);
	if (owner !== undefined) {
		chownSync(path, owner, owner);
	}

	return path;
}

export const changedSinceLoad = (script: string, path: string) => `script ${script} is refused: ${path} changed since the allowlist was loaded; check it, then reload (SIGHUP or xi-exec-agent allow)`;

