/**
 * A ConsoleCore for console tests: a fixed registry, discovery the test releases, runs whose
 * events the test emits (as the dispatcher would), and a pairing listener whose events the test
 * emits and whose approvals compare codes as the real listener does. No socket, no process.
 */
import {randomUUID} from 'node:crypto';
import type {Discovered} from '../../../source/dispatch/discover.js';
import type {AgentResult, RunEvent} from '../../../source/run/events.js';
import {formatCode} from '../../../source/pairing/code.js';
import type {Approval, PairingEvent, PendingRequest} from '../../../source/pairing/listener.js';
import type {ScriptDescription} from '../../../source/protocol/frames.js';
import type {AgentRecord} from '../../../source/registry/model.js';
import type {AuditRecord} from '../../../source/audit/record.js';
import type {StoredRun} from '../../../source/history/run-record.js';
import type {AuditQuery, AuditView, ConsoleCore, DryRunView, RunRequest} from '../../../source/ui/core.js';
import {agentViews, type AgentScriptView, type AgentView} from '../../../source/core/agents-view.js';

export function agentRecord(name: string, index: number, tags: Record<string, string>): AgentRecord {
	return {
		name,
		address: `127.0.0.1:${7441 + index}`,
		tags,
		serial: `${index + 1}`.padStart(2, '0') + '3fa9c1d2e4b5a6978812',
		fingerprint: 'ab'.repeat(32),
		certificateExpires: '2099-02-24T09:00:00.000Z',
		pairedAt: '2026-02-24T09:00:00.000Z',
	};
}

/** The demo's fleet, as records. */
export const demoFleet: AgentRecord[] = [
	agentRecord('cache1', 0, {env: 'production', role: 'cache', site: 'paris'}),
	agentRecord('db1', 1, {env: 'production', role: 'db', site: 'london'}),
	agentRecord('db2', 2, {env: 'staging', role: 'db', site: 'paris'}),
	agentRecord('web1', 3, {env: 'production', role: 'web', site: 'london'}),
	agentRecord('web2', 4, {env: 'production', role: 'web', site: 'paris'}),
	agentRecord('web3', 5, {env: 'staging', role: 'web', site: 'london'}),
];

export const sampleScripts: ScriptDescription[] = [
	{name: 'check-service', description: 'Check the web service', timeoutSeconds: 30},
	{name: 'deploy', description: 'Deploy a colour', timeoutSeconds: 60, args: {type: 'array', prefixItems: [{enum: ['blue', 'green']}], items: false, minItems: 1}},
	{name: 'restart-app', description: 'Restart the app', timeoutSeconds: 30, confirm: true, maxTargets: 3},
];

export function reachable(record: AgentRecord, scripts: ScriptDescription[] = sampleScripts): Discovered {
	return {name: record.name, address: record.address, status: 'reachable', scripts};
}

export function unreachable(record: AgentRecord, reason: string): Discovered {
	return {name: record.name, address: record.address, status: 'unreachable', reason, scripts: []};
}

/** What discovery found of an agent as the core's agents view shows it (the real core's discover tells the console these). */
export function viewOf(found: Discovered, record: AgentRecord = agentRecord(found.name, 0, {}), now = new Date()): AgentView {
	return agentViews([record], [found], now.toISOString())[0]!;
}

/** Scripts as the agents view lists them. */
export function scriptViews(scripts: ScriptDescription[] = sampleScripts): AgentScriptView[] {
	return viewOf({name: 'any', address: '127.0.0.1:1', status: 'reachable', scripts}).scripts;
}

/** `request` without its approval callback, which is `onApproval` (the core calls it while the run waits for approval). */
export type FakeRun = {request: RunRequest; requestId: string; cancelled: boolean; emit: (event: RunEvent) => void; onApproval?: RunRequest['onApproval']};

/** A dry run asked of the fake core: the test answers it (as the core would) or refuses it. */
export type FakeDryRun = {request: RunRequest; answer: (view: DryRunView) => void; refuse: (error: Error) => void};

export type FakePairing = {
	emit: (event: PairingEvent) => void;
	approvals: Array<{agent: string; code: string}>;
	rejected: string[];
	closed: boolean;
};

export type FakeCoreOptions = {
	agents?: AgentRecord[];
	/** What discovery finds; `manual` leaves every agent checking until the test calls `discovered`. */
	discovery?: Discovered[] | 'manual';
	/** Each pending agent's code, as its screen shows it (and the controller's, which match). */
	codes?: Record<string, string>;
	/** The controller's audit log: its records and the verifier's status (intact by default). */
	audit?: {records: AuditRecord[]; chain?: AuditView['chain']};
};

export class FakeCore implements ConsoleCore {
	readonly runs: FakeRun[] = [];
	readonly dryRuns: FakeDryRun[] = [];
	pairing: FakePairing | undefined;
	discoveries = 0;
	readonly auditQueries: AuditQuery[] = [];
	audit: {records: AuditRecord[]; chain?: AuditView['chain']};
	private readonly agents: AgentRecord[];
	private readonly discovery: Discovered[] | 'manual';
	private readonly codes: Record<string, string>;
	private readonly wrongTries = new Map<string, number>();
	private onFound: ((found: Discovered) => void) | undefined;

	constructor(options: FakeCoreOptions = {}) {
		this.agents = options.agents ?? demoFleet;
		this.discovery = options.discovery ?? this.agents.map(record => reachable(record));
		this.codes = options.codes ?? {};
		this.audit = options.audit ?? {records: []};
	}

	/** Releases one discovery result (with `discovery: 'manual'`). */
	discovered(found: Discovered): void {
		this.onFound?.(found);
	}

	/** As the real core: what is found is told as the core's agents view. */
	private view(found: Discovered): AgentView {
		return viewOf(found, this.agents.find(agent => agent.name === found.name));
	}

	loadAgents = async (): Promise<AgentRecord[]> => this.agents;

	discover = async (_agents: readonly AgentRecord[], onView: (view: AgentView) => void): Promise<void> => {
		const onFound = (found: Discovered) => {
			onView(this.view(found));
		};

		this.onFound = onFound;
		this.discoveries++;
		if (this.discovery !== 'manual') {
			for (const found of this.discovery) {
				onFound(found);
			}
		}
	};

	run = (request: RunRequest, onEvent: (event: RunEvent) => void) => {
		const {onApproval, ...asked} = request;
		const run: FakeRun = {request: asked, requestId: randomUUID(), cancelled: false, emit: onEvent, ...(onApproval ? {onApproval} : {})};
		this.runs.push(run);
		return {
			requestId: run.requestId,
			cancel() {
				run.cancelled = true;
			},
			done: Promise.resolve([]),
		};
	};

	dryRun = async (request: RunRequest): Promise<DryRunView> => new Promise((resolve, reject) => {
		this.dryRuns.push({request, answer: resolve, refuse: reject});
	});

	/** The run history the console reads (newest first); tests fill it. */
	history: StoredRun[] = [];

	listRuns = async (limit: number): Promise<StoredRun[]> => this.history.slice(0, limit);

	readAudit = async (query: AuditQuery): Promise<AuditView> => {
		this.auditQueries.push(query);
		const matching = this.audit.records.filter(record => query.requestId === undefined || record['requestId'] === query.requestId);
		const last = this.audit.records.at(-1);
		return {
			records: matching.slice(-query.limit),
			matching: matching.length,
			chain: this.audit.chain ?? {ok: true, text: `ok: ${this.audit.records.length} records, chain intact, last checkpoint at ${last ? last.seq : 'none'}`, warnings: []},
		};
	};

	openPairing = async (onEvent: (event: PairingEvent) => void) => {
		const pairing: FakePairing = {emit: onEvent, approvals: [], rejected: [], closed: false};
		this.pairing = pairing;
		onEvent({event: 'listening', address: '127.0.0.1:7400'});
		return {
			address: '127.0.0.1:7400',
			approve: async (agent: string, code: string): Promise<Approval> => {
				pairing.approvals.push({agent, code});
				const expected = this.codes[agent];
				if (expected !== undefined && code.replace(/\s/g, '') === expected) {
					return {ok: true, agent, agentCode: spaced(code), controllerCode: spaced(expected)};
				}

				// As the real listener: a wrong code is counted, and only "does not match" is said.
				const tries = (this.wrongTries.get(agent) ?? 0) + 1;
				this.wrongTries.set(agent, tries);
				onEvent({event: 'wrong-code', agent, ceremony: `ceremony-${agent}`, triesLeft: 3 - tries, codeHash: '00'});
				return {ok: false, reason: tries >= 3 ? `does not match; that was the last try, the request from ${agent} is refused` : `does not match (${3 - tries} ${3 - tries === 1 ? 'try' : 'tries'} left)`};
			},
			reject(agent: string) {
				pairing.rejected.push(agent);
				onEvent({event: 'refused', agent, ceremony: `ceremony-${agent}`, source: '127.0.0.1', reason: 'rejected by the operator'});
				return true;
			},
			async close() {
				pairing.closed = true;
			},
		};
	};
}

function spaced(code: string): string {
	return formatCode(code.replace(/\s/g, ''));
}

export function pendingRequest(agent: string, index: number, tags: Record<string, string> = {env: 'staging'}): {event: 'request'} & PendingRequest {
	return {
		event: 'request',
		ceremony: `ceremony-${agent}`,
		agent,
		address: `127.0.0.1:${7451 + index}`,
		source: '127.0.0.1',
		tags,
		fingerprint: Array.from({length: 32}, () => '7F').join(':'),
		expires: '2026-02-24T09:05:00.000Z',
	};
}

/** The dispatcher's events for one agent's whole run. */
export function agentRun(agent: string, output: string, result: Partial<AgentResult> & Pick<AgentResult, 'status'>): RunEvent[] {
	const events: RunEvent[] = [{type: 'agent-connecting', agent}, {type: 'agent-started', agent}];
	if (output !== '') {
		events.push({type: 'agent-output', agent, stream: 'stdout', data: output});
	}

	events.push({type: 'agent-finished', result: {agent, exitCode: null, signal: null, stdout: output, stderr: '', truncated: false, durationMs: 1234, ...result}});
	return events;
}
