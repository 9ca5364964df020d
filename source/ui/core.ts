/**
 * What the console may ask of the core. Screens never open sockets or spawn processes: they call
 * these ports and receive events. `console-core.ts` builds the real one; tests pass fakes.
 */
import type {Discovered} from '../dispatch/discover.js';
import type {AgentResult, RunEvent} from '../dispatch/events.js';
import type {Approval, PairingEvent} from '../pairing/listener.js';
import type {AgentRecord} from '../registry/model.js';

export type RunRequest = {script: string; args: string[]; targets: string[]};
export type RunHandle = {requestId: string; cancel: () => void; done: Promise<AgentResult[]>};

export type PairingHandle = {
	address: string;
	approve: (agent: string, code: string) => Promise<Approval>;
	reject: (agent: string) => boolean;
	close: () => Promise<void>;
};

export type ConsoleCore = {
	loadAgents: () => Promise<AgentRecord[]>;
	discover: (agents: readonly AgentRecord[], onFound: (found: Discovered) => void) => Promise<void>;
	run: (request: RunRequest, onEvent: (event: RunEvent) => void) => RunHandle;
	openPairing: (onEvent: (event: PairingEvent) => void) => Promise<PairingHandle>;
};
