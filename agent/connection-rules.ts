/**
 * Which request frame may follow which on one agent connection, as a pure state machine. A
 * connection carries one request; or a description asked with keepOpen followed by one run (the
 * controller's pinned serial checked again before it); or certificate frames in order. A run
 * never shares its connection with certificate frames or a description, and a connection carries
 * at most one run. A cancel is acted on in any phase but after a description. The socket layer
 * (server.ts) feeds each decoded, fresh frame here and does what the verdict says; a refusal ends
 * the connection.
 */
import type {CancelFrame, ProtocolErrorCode, RequestFrame, RunFrame} from '../source/protocol/frames.js';

export type CertificateFrame = Extract<RequestFrame, {type: 'renew' | 'certificate' | 'pin' | 'unpair'}>;

export type ConnectionState =
	/** Nothing asked yet. */
	| {phase: 'open'}
	/** A description was sent with openForRun: one run follows, nothing else. */
	| {phase: 'described'}
	/** Certificate frames (renew, certificate, pin, unpair), handled one at a time in order. */
	| {phase: 'certificates'}
	| {phase: 'running'; runId: string};

export type ConnectionFacts = {
	/** The controller's certificate serial on this connection. */
	serial: string;
	/** Whether it is still pinned (a rotation may have retired it since the handshake). */
	pinned: boolean;
	/** A run with this request id is going on on another connection of this agent. */
	runGoing: boolean;
};

export type Verdict =
	| {act: 'describe'; keepOpen: boolean}
	/** Cancel the run with the frame's id; `answer`: acknowledge and end the connection (not when it is this connection's own run). */
	| {act: 'cancel'; frame: CancelFrame; answer: boolean}
	| {act: 'certificate'; frame: CertificateFrame}
	| {act: 'run'; frame: RunFrame}
	/** Code `unpinned` is a refusal of the peer, not of the frame: it carries no request id. */
	| {act: 'refuse'; code: ProtocolErrorCode; message: string};

export const openConnection: ConnectionState = {phase: 'open'};

const refuse = (message: string, code: ProtocolErrorCode = 'malformed'): Verdict => ({act: 'refuse', code, message});

/** What to do with `frame` in `state`, and the state after it (unchanged after a refusal: the connection ends). */
export function nextFrame(state: ConnectionState, frame: RequestFrame, facts: ConnectionFacts): {verdict: Verdict; state: ConnectionState} {
	const verdict = decide(state, frame, facts);
	return {verdict, state: verdict.act === 'refuse' ? state : after(state, frame, verdict)};
}

function decide(state: ConnectionState, frame: RequestFrame, facts: ConnectionFacts): Verdict {
	if (state.phase === 'described' && frame.type !== 'run') {
		return refuse('after a description, a connection carries one run and nothing else');
	}

	switch (frame.type) {
		case 'describe': {
			return state.phase === 'open' ? {act: 'describe', keepOpen: frame.keepOpen === true} : refuse('a description cannot share a connection with a run or certificate requests');
		}

		case 'cancel': {
			return {act: 'cancel', frame, answer: state.phase !== 'running' || state.runId !== frame.id};
		}

		case 'status': {
			return refuse('status is asked over the relay only: over direct TLS the run\'s own connection carries its result', 'unknown-type');
		}

		case 'renew':
		case 'certificate':
		case 'pin':
		case 'unpair': {
			return state.phase === 'running' ? refuse('certificate requests cannot share a connection with a run') : {act: 'certificate', frame};
		}

		case 'run': {
			if (state.phase === 'running') {
				return refuse('one run per connection');
			}

			if (state.phase === 'certificates') {
				return refuse('a run cannot share a connection with certificate requests');
			}

			if (state.phase === 'described' && !facts.pinned) {
				return refuse(`refused: controller certificate serial ${facts.serial} is not the pinned one`, 'unpinned');
			}

			return facts.runGoing ? refuse(`a run with request id ${frame.id} is already in progress`) : {act: 'run', frame};
		}
	}
}

function after(state: ConnectionState, frame: RequestFrame, verdict: Verdict): ConnectionState {
	switch (verdict.act) {
		case 'describe': {
			return verdict.keepOpen ? {phase: 'described'} : state;
		}

		case 'certificate': {
			return {phase: 'certificates'};
		}

		case 'run': {
			return {phase: 'running', runId: frame.id};
		}

		default: {
			return state;
		}
	}
}
