/**
 * One pairing ceremony as a pure state machine (code.ts has the cryptography, listener.ts the
 * sockets). The agent's frames must come in order — commit, reveal, then (after the operator
 * approved) confirmed; a `declined` ends the ceremony in any phase. The socket layer feeds each
 * line, each outcome of its own checks and each operator action here, and does what the verdict
 * says; `end` is the one way out, and it says whether the ceremony was abandoned after the
 * controller's nonce (what a relay grinding for a matching code does).
 *
 * The listener-wide limits are pure too: how many ceremonies may be in progress (in all, per
 * source address), and when abandoned ceremonies stop a name, then everyone.
 */
import {parseHostPort} from '../io/address.js';
import {noAddress} from './transport-choice.js';
import {parseTag} from '../policy/tags.js';
import {isAgentName} from '../protocol/text-checks.js';
import {decodeAgentMessage, type AgentMessage} from './messages.js';

/**
 * `abandoned…`: ceremonies dropped after the controller sent its nonce and before the agent
 * revealed its own. That is what a relay grinding for a matching code across ceremonies does (it
 * can compute the controller's code from its own side, and walks away when it does not match the
 * agent's), so past these counts the listener stops accepting that name, then anyone.
 */
export const limits = {pending: 8, pendingPerSource: 2, wrongCodes: 3, abandonedPerName: 3, abandonedTotal: 16};

/** `issuing`: the operator's code matched and the certificate is being signed (no second approval). */
export type Phase = 'commit' | 'reveal' | 'approval' | 'issuing' | 'confirmation' | 'ended';

export type CeremonyState = {phase: Phase; wrongCodes: number};

export const newCeremony: CeremonyState = {phase: 'commit', wrongCodes: 0};

export type Commit = Extract<AgentMessage, {type: 'commit'}>;

export type CeremonyInput =
	/** A line from the agent; `expired`: the clock is past the ceremony's expiry. */
	| {type: 'line'; line: string; expired: boolean}
	/** The commit passed the listener's checks (commitRefusal, the registry, the CSR). */
	| {type: 'committed'}
	/** The revealed nonce matched the commitment: the code is fixed. */
	| {type: 'revealed'}
	/** The operator typed a code for this request; `matches`: it is the ceremony's code. */
	| {type: 'code'; matches: boolean; expired: boolean}
	/** The certificate is signed. */
	| {type: 'issued'}
	/** The ceremony ends: a refusal with its reason, or (no reason) done or closed quietly. */
	| {type: 'end'; reason?: string};

export type CeremonyVerdict =
	/** Check the commit (commitRefusal, the registry, the CSR), then feed `committed` or `end`. */
	| {act: 'check-commit'; commit: Commit}
	/** Check the reveal against the commitment, then feed `revealed` or `end`. */
	| {act: 'check-reveal'; nonce: string}
	/** Record the agent in the registry, answer `paired`, then feed `end` without a reason. */
	| {act: 'record'}
	/** Send the controller's nonce; wait for the reveal. */
	| {act: 'send-nonce'}
	/** Tell the agent it is pending, and the operator there is a request. */
	| {act: 'ask-operator'}
	/** Sign the certificate, then feed `issued`. */
	| {act: 'issue'}
	/** Send the certificate; wait for the agent's confirmation. */
	| {act: 'send-certificate'}
	/** A wrong code; `last`: that was the last try, end the ceremony. */
	| {act: 'wrong-code'; triesLeft: number; last: boolean}
	/** The clock is past the ceremony's expiry: end it as timed out. */
	| {act: 'expired'}
	/** End the ceremony (send the reason, if any, and close); `abandoned`: count it against the name. */
	| {act: 'end'; reason: string | undefined; abandoned: boolean}
	/** Refused as it stands: end the ceremony with this reason. */
	| {act: 'refuse'; reason: string}
	/** The ceremony has ended (or the operator's action came too late): nothing to do. */
	| {act: 'ignore'};

/** The frame each phase waits for from the agent (none while the operator decides or the certificate is signed). */
const expects: Record<Phase, AgentMessage['type'] | undefined> = {commit: 'commit', reveal: 'reveal', approval: undefined, issuing: undefined, confirmation: 'confirmed', ended: undefined};

/** What to do with `input` in `state`, and the state after it (unchanged after a refusal: the ceremony ends). */
export function nextCeremony(state: CeremonyState, input: CeremonyInput): {verdict: CeremonyVerdict; state: CeremonyState} {
	if (state.phase === 'ended') {
		return {verdict: {act: 'ignore'}, state};
	}

	switch (input.type) {
		case 'line': {
			return {verdict: onLine(state.phase, input.line, input.expired), state};
		}

		case 'committed': {
			return state.phase === 'commit' ? {verdict: {act: 'send-nonce'}, state: {...state, phase: 'reveal'}} : {verdict: {act: 'ignore'}, state};
		}

		case 'revealed': {
			return state.phase === 'reveal' ? {verdict: {act: 'ask-operator'}, state: {...state, phase: 'approval'}} : {verdict: {act: 'ignore'}, state};
		}

		case 'code': {
			return onCode(state, input.matches, input.expired);
		}

		case 'issued': {
			return state.phase === 'issuing' ? {verdict: {act: 'send-certificate'}, state: {...state, phase: 'confirmation'}} : {verdict: {act: 'ignore'}, state};
		}

		case 'end': {
			return {verdict: {act: 'end', reason: input.reason, abandoned: state.phase === 'reveal'}, state: {...state, phase: 'ended'}};
		}
	}
}

function onLine(phase: Phase, line: string, expired: boolean): CeremonyVerdict {
	if (expired) {
		return {act: 'expired'};
	}

	const decoded = decodeAgentMessage(line);
	if (!decoded.ok) {
		return {act: 'refuse', reason: `bad pairing message: ${decoded.reason}`};
	}

	const {message} = decoded;
	if (message.type === 'declined') {
		return {act: 'refuse', reason: `declined on the agent: ${message.reason}`};
	}

	const expected = expects[phase];
	if (message.type !== expected) {
		return {act: 'refuse', reason: `out of order: got ${message.type} while ${expected === undefined ? 'waiting for the operator' : `expecting ${expected}`}`};
	}

	switch (message.type) {
		case 'commit': {
			return {act: 'check-commit', commit: message};
		}

		case 'reveal': {
			return {act: 'check-reveal', nonce: message.nonce};
		}

		case 'confirmed': {
			return {act: 'record'};
		}
	}
}

function onCode(state: CeremonyState, matches: boolean, expired: boolean): {verdict: CeremonyVerdict; state: CeremonyState} {
	if (state.phase !== 'approval') {
		return {verdict: {act: 'ignore'}, state};
	}

	if (expired) {
		return {verdict: {act: 'expired'}, state};
	}

	if (matches) {
		return {verdict: {act: 'issue'}, state: {...state, phase: 'issuing'}};
	}

	const wrongCodes = state.wrongCodes + 1;
	const triesLeft = limits.wrongCodes - wrongCodes;
	return {verdict: {act: 'wrong-code', triesLeft, last: triesLeft <= 0}, state: {...state, wrongCodes}};
}

/** Ceremonies abandoned between the controller's nonce and the agent's reveal, per agent name and in all. */
export type Abandoned = {perName: ReadonlyMap<string, number>; total: number};

export const noneAbandoned: Abandoned = {perName: new Map(), total: 0};

export function countAbandoned(abandoned: Abandoned, name: string): Abandoned {
	return {perName: new Map(abandoned.perName).set(name, (abandoned.perName.get(name) ?? 0) + 1), total: abandoned.total + 1};
}

/** Why a new connection from `source` is refused before its ceremony starts, or undefined. `active`: the sources of the ceremonies in progress. */
export function connectionRefusal(active: readonly string[], source: string, tls13WithExporter: boolean): string | undefined {
	if (!tls13WithExporter) {
		return 'pairing needs TLS 1.3 with an exporter';
	}

	if (active.length >= limits.pending) {
		return `too many pairing requests in progress (${limits.pending}); try again later`;
	}

	if (active.filter(other => other === source).length >= limits.pendingPerSource) {
		return `too many pairing requests from ${source} (${limits.pendingPerSource}); finish or cancel one first`;
	}

	return undefined;
}

/**
 * Why a commit is refused before the registry and the CSR are read, or undefined: in order, the
 * name, the address, the proposed tags, the abandonment limits, another ceremony for the name.
 * `pendingNames`: the names of the other ceremonies in progress.
 */
export function commitRefusal(commit: Commit, abandoned: Abandoned, pendingNames: readonly string[]): string | undefined {
	if (!isAgentName(commit.name)) {
		return `agent name ${JSON.stringify(commit.name)} is not valid`;
	}

	if (commit.address !== noAddress && typeof parseHostPort(commit.address) === 'string') {
		return `agent address ${JSON.stringify(commit.address)} is not HOST:PORT`;
	}

	const badTag = Object.entries(commit.tags).map(([key, value]) => parseTag(`${key}=${value}`)).find(tag => !tag.ok);
	if (badTag && !badTag.ok) {
		return `proposed tags refused: ${badTag.reason}`;
	}

	const everyone = abandoned.total >= limits.abandonedTotal;
	if (everyone || (abandoned.perName.get(commit.name) ?? 0) >= limits.abandonedPerName) {
		return `too many pairing attempts${everyone ? '' : ` for ${commit.name}`} were abandoned before the code was fixed, which is what a man in the middle trying codes does; check the network path, then restart the pairing listener`;
	}

	if (pendingNames.includes(commit.name)) {
		return `a pairing request for ${commit.name} is already pending`;
	}

	return undefined;
}
