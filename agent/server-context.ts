/**
 * What the agent server's connections share: the options, the credentials and pins (replaced by a
 * renewal or a pin change), the run slots, the replay guard, the runs going on, and the one
 * renewal at a time; and what one connection keeps while it is open.
 */
import type {TLSSocket} from 'node:tls';
import {limits} from '../source/protocol/frames.js';
import type {CertificatePorts, PendingRenewal} from './certificate-frames.js';
import type {ConnectionState} from './connection-rules.js';
import type {AgentCredentials} from './credentials.js';
import {noRecorder, type AgentLog, type AgentRecorder} from './execute-run.js';
import type {AgentConfig} from './home.js';
import type {Pins} from './pins.js';
import {ReplayGuard} from './replay-guard.js';
import {RunSlots} from './run-slots.js';
import type {AgentServerOptions} from './server-options.js';

export type ServerContext = {
	options: AgentServerOptions;
	config: AgentConfig;
	/** The options' log, and for refusals outside a run (TLS, protocol, replay) the audit log too. */
	log: AgentLog;
	recorder: AgentRecorder;
	certificatePorts: CertificatePorts;
	pins: () => Pins;
	slots: RunSlots;
	replayGuard: ReplayGuard;
	/** The runs going on, by request id (a cancel from another connection finds them here). */
	activeRuns: Map<string, AbortController>;
	/** What close() waits for: the runs, and the certificate steps in progress. */
	runsDone: Set<Promise<void>>;
	/** Set by close(): a run frame (or a certificate step) whose turn comes meanwhile, on a connection already open, is refused unstarted. */
	stopping: boolean;
	/** The connection whose renewal is in progress, if any: at most one per agent. */
	renewing: {socket: TLSSocket | undefined};
};

/** One connection while it is open. */
export type Connection = {
	socket: TLSSocket;
	peer: {address: string; serial: string};
	state: ConnectionState;
	run?: {id: string; controller: AbortController};
	renewal?: PendingRenewal;
	/** Certificate frames, one at a time in order: `certificate` must find the key `renew` made. */
	maintenance: Promise<void>;
};

const audited = new Set(['tls.refused', 'protocol.error', 'cancel', 'request.error']);

/** `useCredentials`: called with the credentials after a renewal installed them (the server's secure context). */
export function createServerContext(options: AgentServerOptions, useCredentials: (credentials: AgentCredentials) => void): ServerContext {
	const {config} = options;
	const recorder = options.recorder ?? noRecorder;
	const log: AgentLog = (event, fields) => {
		options.log(event, fields);
		if (audited.has(event)) {
			void recorder.record(event, fields).catch(() => undefined);
		}
	};

	let credentials = options.credentials;
	let pins = options.pins;
	const {store} = options;
	const certificatePorts: CertificatePorts = {
		agentName: config.name,
		credentials: () => credentials,
		install(next) {
			store?.install(next);
			credentials = {...credentials, ...next};
			useCredentials(credentials);
		},
		forget: () => store?.forget(),
		stop: () => options.onUnpaired?.(),
		pins: () => pins,
		savePins(next) {
			store?.savePins(next);
			pins = next;
		},
		recorder: {...recorder, checkpoint: options.checkpoint},
		now: options.now,
	};

	const replayGuard = new ReplayGuard(limits.clockSkewMs, undefined, options.replayMemory?.memory);
	options.replayMemory?.load(replayGuard);
	return {
		options,
		config,
		log,
		recorder,
		certificatePorts,
		pins: () => pins,
		slots: options.slots ?? new RunSlots(config.limits.maxConcurrentRuns, config.limits.maxQueuedRuns),
		replayGuard,
		activeRuns: new Map(),
		runsDone: new Set(),
		stopping: false,
		renewing: {socket: undefined},
	};
}
