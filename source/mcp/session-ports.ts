/** What an MCP session is given (its ports) and who opened it. Types only. */
import type {AuditLog} from '../audit/file-log.js';
import type {DiscoveryCache} from '../core/discovery-cache.js';
import type {ClientContext} from '../dispatch/agent-connection.js';
import type {ControllerPaths} from '../home.js';
import type {CallLimiter} from '../policy/call-limits.js';
import type {TokenRecord} from '../policy/tokens.js';
import type {RegistryStore} from '../registry/store.js';

export type McpPorts = {
	paths: ControllerPaths;
	registry: RegistryStore;
	audit: AuditLog;
	/** The controller's client identity as it is now (a long-running server follows a rotation). */
	context: () => ClientContext;
	controllerSerial: () => string;
	discovery: DiscoveryCache;
	discoveryMaxAgeMs: number;
	tokens: () => Promise<readonly TokenRecord[]>;
	limiter: CallLimiter;
	maxOutputBytes: number;
	/** Runs started by this process's sessions, so `cancel_run` stops them here. */
	live: Map<string, LiveRun>;
	/** Aborted when the process stops: runs still going are cancelled on every agent. */
	stopping: AbortSignal;
	version: string;
	now: () => Date;
	log: (line: string) => void;
};

export type LiveRun = {caller: string; cancel: AbortController; running: Set<string>; targets: string[]};

/** Who opened the session: the token it presented, the transport, and the client's address when there is one. */
export type McpCaller = {token: string; transport: 'stdio' | 'http'; source?: string};
