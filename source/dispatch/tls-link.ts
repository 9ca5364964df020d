/**
 * The direct link: one exchange with one agent over mutual TLS. Dial, check the agent's identity
 * (exactly one SAN URI naming the agent we meant to reach), send one request frame, hand each
 * response frame to the caller until a terminal frame, the connection's end, the deadline or the
 * caller's abort. agent-connection.ts chooses this link or the relay for each agent.
 */
import {randomUUID} from 'node:crypto';
import type {SecureContext, TLSSocket} from 'node:tls';
import {decodeResponse} from '../protocol/decode.js';
import {encodeFrame, type WithoutVersion} from '../protocol/encode.js';
import {limits, unknownRequestId, type RequestFrame, type ResponseFrame} from '../protocol/frames.js';
import {LineSplitter} from '../protocol/line-splitter.js';
import {parseHostPort} from '../io/address.js';
import {checkAgentIdentity, dialAgent, presentedBy} from './agent-identity.js';
import {terminalTypes, type ExchangeEnd, type RequestWithoutEnvelope} from './exchange-end.js';
import type {ConnectionHold} from './held-connections.js';
import {ownNow, unwatchStalls, watchStallsOpen} from './loop-stalls.js';

export type TlsTarget = {name: string; address: string};

export {createTlsContext} from './agent-identity.js';

export type TlsExchangeOptions = {
	/**
	 * What the controller reaches agents with (agent-connection.ts ClientContext): its TLS context,
	 * and a connection to the agent dialled before the command was read in full, when there is one
	 * (agent-connection.ts EarlyConnection).
	 */
	context: {readonly tls: SecureContext; readonly early?: ((agent: string) => Promise<TLSSocket | undefined> | undefined) | undefined};
	connectTimeoutMs: number;
	/** Overall limit for the exchange, from the moment of connection. */
	deadlineMs: number;
	/**
	 * Called for every non-terminal frame (started, output, csr); `reply` sends a further request
	 * frame on the connection, `fail` ends the exchange as a protocol failure with a reason.
	 */
	onFrame?: (frame: ResponseFrame, reply: (request: RequestWithoutEnvelope) => void, fail: (reason: string) => void) => void;
	/** Agent certificate serials the controller refuses (unpaired, superseded by a renewal). */
	revoked?: ReadonlySet<string>;
	/** When aborted, a cancel frame is sent and the exchange waits for the agent's answer. */
	cancel?: {signal: AbortSignal; caller: string; graceMs: number};
	/** Connections kept from a describe for the run (see exchangeTls). */
	hold?: ConnectionHold;
};

/** The frame as one line with its envelope: the version, a unique message id and a timestamp (replay protection), written by encodeFrame. */
export function envelope(frame: RequestWithoutEnvelope): string {
	return encodeFrame(frame as WithoutVersion<RequestFrame>, {msg: randomUUID(), ts: Date.now()});
}

/**
 * With `options.hold`, a describe whose agent keeps the connection open (`openForRun`) leaves it
 * there, and a run to that agent goes over it instead of a new connection (held-connections.ts).
 * A held connection the agent closed for idleness before it read the run (its `timeout` refusal
 * of the connection: nothing ran) is replaced by a new connection, and so is one whose certificate
 * the registry refuses by the time of the run (the new handshake then refuses it).
 */
export function exchangeTls(target: TlsTarget, request: RequestWithoutEnvelope, options: TlsExchangeOptions): Promise<ExchangeEnd> {
	const held = request.type === 'run' ? options.hold?.take(target.name) : undefined;
	const early = held ? undefined : options.context.early?.(target.name);
	// Most exchanges dial a new connection: they go straight to it, without an async step of their own.
	return held || early ? exchangeOnKept(target, request, options, held, early) : exchangeOn(target, request, options, undefined);
}

/** A connection kept from a describe (`held`) or dialled early (`early`): checked again, used, and replaced when it cannot serve. */
async function exchangeOnKept(target: TlsTarget, request: RequestWithoutEnvelope, options: TlsExchangeOptions, kept: TLSSocket | undefined, early: Promise<TLSSocket | undefined> | undefined): Promise<ExchangeEnd> {
	let held = kept;
	if (early) {
		const dialled = await within(early, options.connectTimeoutMs);
		if (dialled === 'late') {
			return {kind: 'unreachable', reason: `no TLS connection to ${target.address} within ${options.connectTimeoutMs / 1000} s`};
		}

		held = dialled;
	}

	if (held && checkAgentIdentity(target.name, presentedBy(held), options.revoked)) {
		// Refused since its describe (unpaired, renewed away): a new connection meets the refusal at its handshake.
		held.destroy();
		held = undefined;
	}

	if (held) {
		const end = await exchangeOn(target, request, options, held);
		const idleRefusal = end.kind === 'terminal' && end.frame.type === 'error' && end.frame.id === unknownRequestId && end.frame.code === 'timeout';
		if (!idleRefusal) {
			return end;
		}
	}

	return exchangeOn(target, request, options, undefined);
}

/** The promise's value, or 'late' after `ms` (its connection is then closed). */
async function within(dialled: Promise<TLSSocket | undefined>, ms: number): Promise<TLSSocket | undefined | 'late'> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<'late'>(resolve => {
		timer = setTimeout(() => resolve('late'), ms);
	});
	const first = await Promise.race([dialled, late]);
	clearTimeout(timer);
	if (first === 'late') {
		void dialled.then(socket => socket?.destroy());
	}

	return first;
}

function exchangeOn(target: TlsTarget, request: RequestWithoutEnvelope, options: TlsExchangeOptions, held: TLSSocket | undefined): Promise<ExchangeEnd> {
	const address = parseHostPort(target.address);
	if (typeof address === 'string') {
		return Promise.resolve({kind: 'unreachable', reason: `registry address ${address}`});
	}

	return new Promise(resolve => {
		new TlsExchange(target, request, options, resolve).start(held ?? dialAgent(address, options.context.tls, target.name, options.revoked), held !== undefined);
	});
}

/**
 * The exchange a socket is serving, for the listeners and timer callbacks below: one function each
 * for every exchange (node calls a socket's listeners with the socket as `this`, and a timer's
 * callback with the arguments it was set with), none made per host. A map, not a property on the
 * socket: a property added after dialAgent's certificate shadow would make deleting the shadow
 * turn every socket into a slow dictionary object (3 KB allocated per host, measured).
 */
const exchangeOf = new WeakMap<TLSSocket, TlsExchange>();

function onData(this: TLSSocket, chunk: Buffer): void {
	exchangeOf.get(this)?.read(chunk);
}

function onError(this: TLSSocket, error: NodeJS.ErrnoException): void {
	exchangeOf.get(this)?.failed(error);
}

function onClose(this: TLSSocket): void {
	exchangeOf.get(this)?.closed();
}

function onSecureConnect(this: TLSSocket): void {
	exchangeOf.get(this)?.secure();
}

const checkConnect = (exchange: TlsExchange) => {
	exchange.checkConnect();
};

const deadlinePassed = (exchange: TlsExchange) => {
	exchange.finish({kind: 'deadline'});
};

const cancelUnconfirmed = (exchange: TlsExchange) => {
	exchange.finish({kind: 'lost', reason: 'the agent did not confirm the cancel'});
};

const once = {once: true} as const;

/**
 * One request on one connection, as one object: its socket's listeners, its timers (connect,
 * deadline, the cancel's grace) and the caller's cancel end in one place, `finish`, the first end
 * winning. Everything an exchange needs is made once here rather than in layers of closures; the
 * socket's listeners and the timers' callbacks are shared by every exchange (above).
 */
class TlsExchange {
	private socket!: TLSSocket;
	private settled = false;
	private secured = false;
	private started = false;
	/** The connect timeout counts the loop's own time (loop-stalls.ts) from `connectStart` while `watching`. */
	private watching = false;
	private connectStart = 0;
	private connectTimer: NodeJS.Timeout | undefined;
	private deadlineTimer: NodeJS.Timeout | undefined;
	private graceTimer: NodeJS.Timeout | undefined;
	private readonly splitter = new LineSplitter(limits.responseFrameBytes);
	// A function of its own (node's EventTarget wraps a listener object's handleEvent in a closure anyway).
	private readonly onAbort = () => {
		this.abort();
	};

	private readonly reply = (next: RequestWithoutEnvelope) => this.socket.write(envelope(next));
	private readonly fail = (reason: string) => {
		this.finish({kind: 'protocol', reason});
	};

	constructor(
		private readonly target: TlsTarget,
		private readonly request: RequestWithoutEnvelope,
		private readonly options: TlsExchangeOptions,
		private readonly resolve: (end: ExchangeEnd) => void,
	) {}

	start(socket: TLSSocket, secure: boolean): void {
		this.socket = socket;
		// Counted in the loop's own time: a controller too busy to read the agent's answer does not call it unreachable.
		watchStallsOpen();
		this.watching = true;
		this.connectStart = ownNow();
		this.connectTimer = setTimeout(checkConnect, this.options.connectTimeoutMs, this);
		this.options.cancel?.signal.addEventListener('abort', this.onAbort, once);
		exchangeOf.set(socket, this);
		socket.on('data', onData).on('error', onError).on('close', onClose);
		if (secure) {
			this.secure();
		} else {
			socket.on('secureConnect', onSecureConnect);
		}
	}

	/** The connect timer fired: unreachable once the timeout has passed in the loop's own time, else set again for the rest. */
	checkConnect(): void {
		this.connectTimer = undefined;
		if (this.settled || this.secured) {
			return;
		}

		const left = this.options.connectTimeoutMs - (ownNow() - this.connectStart);
		if (left >= 1) {
			this.connectTimer = setTimeout(checkConnect, left, this);
			return;
		}

		this.finish({kind: 'unreachable', reason: `no TLS connection to ${this.target.address} within ${this.options.connectTimeoutMs / 1000} s`});
	}

	private stopConnectTimer(): void {
		clearTimeout(this.connectTimer);
		this.connectTimer = undefined;
		if (this.watching) {
			this.watching = false;
			unwatchStalls();
		}
	}

	secure(): void {
		this.secured = true;
		this.stopConnectTimer();
		this.deadlineTimer = setTimeout(deadlinePassed, this.options.deadlineMs, this);
		this.socket.write(envelope(this.request));
		if (this.options.cancel?.signal.aborted) {
			this.abort();
		}
	}

	private abort(): void {
		if (!this.secured) {
			this.finish({kind: 'unreachable', reason: 'cancelled before the connection was made'});
			return;
		}

		const cancel = this.options.cancel!;
		this.socket.write(envelope({type: 'cancel', id: this.request.id, caller: cancel.caller}));
		if (!this.settled) {
			this.graceTimer = setTimeout(cancelUnconfirmed, cancel.graceMs, this);
		}
	}

	/** Each line of the agent's answer: the exchange's end (a bad frame, another request's, a terminal frame) or a frame on the way. */
	read(chunk: Buffer): void {
		const {lines, overflow} = this.splitter.push(chunk);
		for (const line of lines) {
			// onFrame may have ended the exchange (fail): nothing after that is handed on.
			if (this.settled) {
				return;
			}

			const decoded = decodeResponse(line);
			if (!decoded.ok) {
				this.finish({kind: 'protocol', reason: `the agent sent a bad frame: ${decoded.error.message}`});
				return;
			}

			const {frame} = decoded;
			if (frame.id !== this.request.id && frame.id !== unknownRequestId) {
				this.finish({kind: 'protocol', reason: `the agent answered request ${frame.id}, not ${this.request.id}`});
				return;
			}

			if (terminalTypes.has(frame.type)) {
				this.finish({kind: 'terminal', frame});
				return;
			}

			this.started ||= frame.type === 'started';
			this.options.onFrame?.(frame, this.reply, this.fail);
		}

		if (overflow) {
			this.finish({kind: 'protocol', reason: `the agent sent a frame over ${limits.responseFrameBytes} bytes`});
		}
	}

	failed(error: NodeJS.ErrnoException): void {
		const reason = describeSocketError(error, this.target);
		this.finish(this.secured ? {kind: 'lost', reason: this.started ? `connection lost while the script ran (${reason}); its outcome is unknown` : `connection lost (${reason})`} : {kind: 'unreachable', reason});
	}

	closed(): void {
		const reason = this.started ? 'connection closed while the script ran; its outcome is unknown' : 'connection closed before an answer';
		this.finish(this.secured ? {kind: 'lost', reason} : {kind: 'unreachable', reason: `connection to ${this.target.address} closed during the TLS handshake`});
	}

	/** The first end wins: every timer cleared, the cancel no longer listened to, the socket closed (or kept for the run when a describe's agent offers it). */
	finish(end: ExchangeEnd): void {
		if (this.settled) {
			return;
		}

		this.settled = true;
		this.stopConnectTimer();
		clearTimeout(this.deadlineTimer);
		clearTimeout(this.graceTimer);
		this.options.cancel?.signal.removeEventListener('abort', this.onAbort);
		const {socket} = this;
		socket.off('data', onData).off('error', onError).off('close', onClose).off('secureConnect', onSecureConnect);
		exchangeOf.delete(socket);
		const keep = end.kind === 'terminal' && end.frame.type === 'description' && end.frame.openForRun === true && this.options.hold?.offer(this.target.name, socket);
		if (!keep) {
			socket.destroy();
		}

		this.resolve(end);
	}
}

function describeSocketError(error: NodeJS.ErrnoException, {name, address}: TlsTarget): string {
	switch (error.code) {
		case 'ECONNREFUSED': {
			return `connection refused by ${address} (is the agent running?)`;
		}

		case 'CERT_HAS_EXPIRED': {
			return `the certificate of agent ${name} has expired (it was not renewed in time); pair it again: run \`xi-exec pair --listen HOST:PORT --replace\` here and \`xi-exec-agent pair --controller HOST:PORT\` on its host`;
		}

		case 'ERR_TLS_CERT_ALTNAME_INVALID': {
			return `wrong agent identity: ${error.message.replace(/^.*?: /, '')}`;
		}

		default: {
			return error.code ? `${error.code}: ${error.message}` : error.message;
		}
	}
}
