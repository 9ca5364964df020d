/** What the pairing listener is given, what it reports and what it answers (listener.ts opens it). */
import type {HostPort} from '../io/address.js';
import type {TlsCredentials} from '../pki/credentials.js';
import type {CertificateAuthority} from '../pki/issue.js';
import type {RegistryStore} from '../registry/store.js';
import type {OperatorTransport, TransportChoice} from './transport-choice.js';

export type PendingRequest = {
	ceremony: string;
	agent: string;
	address: string;
	source: string;
	tags: Record<string, string>;
	fingerprint: string;
	expires: string;
	/** How the controller will reach it once approved (transport-choice.ts); absent: direct TLS. */
	transport?: TransportChoice['transport'];
	relay?: string;
};

export type PairingEvent =
	| {event: 'listening'; address: string}
	| ({event: 'request'} & PendingRequest)
	| {event: 'wrong-code'; agent: string; ceremony: string; triesLeft: number; codeHash: string}
	| {event: 'approved'; agent: string; ceremony: string; serial: string; codeHash: string}
	| ({event: 'paired'; agent: string; ceremony: string; serial: string; address: string; tags: Record<string, string>} & Partial<TransportChoice>)
	| {event: 'refused'; agent: string | null; ceremony: string | null; source: string; reason: string};

export type Approval =
	| {ok: true; agent: string; agentCode: string; controllerCode: string}
	| {ok: false; reason: string};

export type PairingListenerOptions = {
	listen: HostPort;
	server: TlsCredentials;
	ca: CertificateAuthority;
	controllerCertificate: string;
	controllerName: string;
	registry: RegistryStore;
	replace: boolean;
	/** `pair --transport` / `--relay`: how approved agents are reached (absent: as each request proposes). */
	transport?: OperatorTransport;
	timeoutMs: number;
	/**
	 * How long the agent's machine steps may take (the TLS handshake, its commit after the hello,
	 * its reveal after the nonce; default 10 s): a connection idle past it is cut. Only the waits
	 * for a person (the operator's approval, the agent's confirmation) get `timeoutMs`.
	 */
	stepTimeoutMs?: number;
	now: () => Date;
	onEvent: (event: PairingEvent) => void;
};

export type PairingListener = {
	address: string;
	approve: (agent: string, typedCode: string) => Promise<Approval>;
	reject: (agent: string, reason?: string) => boolean;
	pending: () => PendingRequest[];
	close: () => Promise<void>;
};
