/**
 * The direct link: one exchange with one agent over mutual TLS. Dial, check the agent's identity
 * (exactly one SAN URI naming the agent we meant to reach), send one request frame, hand each
 * response frame to the caller until a terminal frame, the connection's end, the deadline or the
 * caller's abort. agent-connection.ts chooses this link or the relay for each agent.
 */
import {randomUUID} from 'node:crypto';
import type {SecureContext, TLSSocket} from 'node:tls';
import {decodeResponse} from '../protocol/decode.js';
import {encodeFrame} from '../protocol/encode.js';
import {limits, unknownRequestId, type ResponseFrame} from '../protocol/frames.js';
import {LineSplitter} from '../protocol/line-splitter.js';
import {parseHostPort} from '../io/address.js';
import {checkAgentIdentity, dialAgent, presentedBy} from './agent-identity.js';
import {exchangeEnding, terminalTypes, type ExchangeEnd, type RequestWithoutEnvelope} from './exchange-end.js';
import type {ConnectionHold} from './held-connections.js';
import {afterOwnTime} from './loop-stalls.js';

export type TlsTarget = {name: string; address: string};

export {createTlsContext} from './agent-identity.js';

export type TlsExchangeOptions = {
	tls: SecureContext;
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
	/** A connection to the agent dialled before the command was read in full (agent-connection.ts EarlyConnection). */
	early?: (agent: string) => Promise<TLSSocket | undefined> | undefined;
};

/** Adds the per-message envelope: a unique message id and a timestamp (replay protection). */
export function envelope(frame: RequestWithoutEnvelope): string {
	return encodeFrame({...frame, msg: randomUUID(), ts: Date.now()});
}

/**
 * With `options.hold`, a describe whose agent keeps the connection open (`openForRun`) leaves it
 * there, and a run to that agent goes over it instead of a new connection (held-connections.ts).
 * A held connection the agent closed for idleness before it read the run (its `timeout` refusal
 * of the connection: nothing ran) is replaced by a new connection, and so is one whose certificate
 * the registry refuses by the time of the run (the new handshake then refuses it).
 */
export async function exchangeTls(target: TlsTarget, request: RequestWithoutEnvelope, options: TlsExchangeOptions): Promise<ExchangeEnd> {
	let held = request.type === 'run' ? options.hold?.take(target.name) : undefined;
	const early = held ? undefined : options.early?.(target.name);
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

/** One line of the agent's answer: the exchange's end (a bad frame, another request's, a terminal frame) or a frame on the way. */
function readAnswerLine(line: string, requestId: string): {end: ExchangeEnd} | {frame: ResponseFrame} {
	const decoded = decodeResponse(line);
	if (!decoded.ok) {
		return {end: {kind: 'protocol', reason: `the agent sent a bad frame: ${decoded.error.message}`}};
	}

	if (decoded.frame.id !== requestId && decoded.frame.id !== '-') {
		return {end: {kind: 'protocol', reason: `the agent answered request ${decoded.frame.id}, not ${requestId}`}};
	}

	return terminalTypes.has(decoded.frame.type) ? {end: {kind: 'terminal', frame: decoded.frame}} : {frame: decoded.frame};
}

function exchangeOn(target: TlsTarget, request: RequestWithoutEnvelope, options: TlsExchangeOptions, held: TLSSocket | undefined): Promise<ExchangeEnd> {
	const address = parseHostPort(target.address);
	if (typeof address === 'string') {
		return Promise.resolve({kind: 'unreachable', reason: `registry address ${address}`});
	}

	return new Promise(resolve => {
		let secured = false;
		let started = false;
		let stopConnectTimer: () => void = () => undefined;
		const ending = exchangeEnding(resolve, end => {
			stopConnectTimer();
			socket.off('data', onData).off('error', onError).off('close', onClose);
			const keep = end.kind === 'terminal' && end.frame.type === 'description' && end.frame.openForRun === true && options.hold?.offer(target.name, socket);
			if (!keep) {
				socket.destroy();
			}
		});
		const {finish} = ending;

		const socket: TLSSocket = held ?? dialAgent(address, options.tls, target.name, options.revoked);

		// Counted in the loop's own time: a controller too busy to read the agent's answer does not call it unreachable.
		stopConnectTimer = afterOwnTime(options.connectTimeoutMs, ending.after, () => {
			if (!secured) {
				finish({kind: 'unreachable', reason: `no TLS connection to ${target.address} within ${options.connectTimeoutMs / 1000} s`});
			}
		});

		const onAbort = () => {
			if (!secured) {
				finish({kind: 'unreachable', reason: 'cancelled before the connection was made'});
				return;
			}

			socket.write(envelope({type: 'cancel', id: request.id, caller: options.cancel!.caller}));
			ending.after(options.cancel!.graceMs, () => {
				finish({kind: 'lost', reason: 'the agent did not confirm the cancel'});
			});
		};

		ending.onAbort(options.cancel?.signal, onAbort);

		const onSecured = () => {
			secured = true;
			stopConnectTimer();
			ending.after(options.deadlineMs, () => {
				finish({kind: 'deadline'});
			});
			socket.write(envelope(request));
			if (options.cancel?.signal.aborted) {
				onAbort();
			}
		};

		const splitter = new LineSplitter(limits.responseFrameBytes);
		const onData = (chunk: Buffer) => {
			const {lines, overflow} = splitter.push(chunk);
			for (const line of lines) {
				const read = readAnswerLine(line, request.id);
				if ('end' in read) {
					finish(read.end);
					return;
				}

				started ||= read.frame.type === 'started';
				options.onFrame?.(read.frame, next => socket.write(envelope(next)), reason => finish({kind: 'protocol', reason}));
			}

			if (overflow) {
				finish({kind: 'protocol', reason: `the agent sent a frame over ${limits.responseFrameBytes} bytes`});
			}
		};

		const onError = (error: NodeJS.ErrnoException) => {
			const reason = describeSocketError(error, target);
			finish(secured ? {kind: 'lost', reason: started ? `connection lost while the script ran (${reason}); its outcome is unknown` : `connection lost (${reason})`} : {kind: 'unreachable', reason});
		};

		const onClose = () => {
			const reason = started ? 'connection closed while the script ran; its outcome is unknown' : 'connection closed before an answer';
			finish(secured ? {kind: 'lost', reason} : {kind: 'unreachable', reason: `connection to ${target.address} closed during the TLS handshake`});
		};

		socket.on('data', onData).on('error', onError).on('close', onClose);
		if (held) {
			onSecured();
		} else {
			socket.once('secureConnect', onSecured);
		}
	});
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
