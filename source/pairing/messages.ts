/**
 * The pairing ceremony's frames: newline-delimited JSON over the listener's TLS connection,
 * separate from the run protocol (the listener accepts pairing and nothing else). Decoding never
 * throws; what arrives out of order is refused by the ceremony, not here.
 */
import {safeJsonParse} from '../protocol/safe-json.js';

export const pairingVersion = 1 as const;
export const pairingFrameBytes = 64 * 1024;

export type ControllerMessage =
	| {type: 'hello'; ceremony: string; ca: string; controller: string; controllerName: string; expires: string}
	| {type: 'nonce'; nonce: string}
	| {type: 'pending'}
	/** `relay`: the broker the controller will reach the agent through (it keeps it in its config). */
	| {type: 'approved'; certificate: string; relay?: string}
	| {type: 'paired'}
	| {type: 'refused'; reason: string};

export type AgentMessage =
	/** `address` is `none` for an agent that opens no port; `relay`: the broker its config names. */
	| {type: 'commit'; name: string; address: string; tags: Record<string, string>; csr: string; commitment: string; relay?: string}
	| {type: 'reveal'; nonce: string}
	| {type: 'confirmed'}
	| {type: 'declined'; reason: string};

export function encodePairing(message: ControllerMessage | AgentMessage): string {
	return JSON.stringify({v: pairingVersion, ...message}) + '\n';
}

type Decoded<M> = {ok: true; message: M} | {ok: false; reason: string};

const hex = (length: number) => new RegExp(`^[0-9a-f]{${length}}$`);
const isString = (value: unknown, max = pairingFrameBytes): value is string => typeof value === 'string' && value.length <= max;
const isTags = (value: unknown): value is Record<string, string> =>
	typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(item => typeof item === 'string');

function parse(line: string): Decoded<Record<string, unknown>> {
	if (line.length > pairingFrameBytes) {
		return {ok: false, reason: 'pairing frame too large'};
	}

	const parsed = safeJsonParse(line, 8);
	if (!parsed.ok) {
		return {ok: false, reason: parsed.reason};
	}

	const value = parsed.value as Record<string, unknown> | null;
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		return {ok: false, reason: 'a pairing frame must be a JSON object'};
	}

	if (value['v'] !== pairingVersion) {
		return {ok: false, reason: `pairing protocol version ${JSON.stringify(value['v'])} is not supported`};
	}

	return {ok: true, message: value};
}

export function decodeAgentMessage(line: string): Decoded<AgentMessage> {
	const parsed = parse(line);
	if (!parsed.ok) {
		return parsed;
	}

	const m = parsed.message;
	switch (m['type']) {
		case 'commit': {
			if (!isString(m['name'], 64) || !isString(m['address'], 300) || !isTags(m['tags']) || !isString(m['csr']) || typeof m['commitment'] !== 'string' || !hex(64).test(m['commitment'])) {
				return {ok: false, reason: 'a commit needs name, address, tags, csr and a SHA-256 commitment'};
			}

			if (m['relay'] !== undefined && !isString(m['relay'], 300)) {
				return {ok: false, reason: 'a commit\'s relay must be the broker\'s URL'};
			}

			return {ok: true, message: {type: 'commit', name: m['name'], address: m['address'], tags: m['tags'], csr: m['csr'], commitment: m['commitment'], ...(m['relay'] === undefined ? {} : {relay: m['relay']})}};
		}

		case 'reveal': {
			return typeof m['nonce'] === 'string' && hex(64).test(m['nonce']) ? {ok: true, message: {type: 'reveal', nonce: m['nonce']}} : {ok: false, reason: 'a reveal needs a 32-byte hex nonce'};
		}

		case 'confirmed': {
			return {ok: true, message: {type: 'confirmed'}};
		}

		case 'declined': {
			return {ok: true, message: {type: 'declined', reason: isString(m['reason'], 500) ? m['reason'] : 'declined'}};
		}

		default: {
			return {ok: false, reason: `unknown pairing message ${JSON.stringify(m['type'])}`};
		}
	}
}

export function decodeControllerMessage(line: string): Decoded<ControllerMessage> {
	const parsed = parse(line);
	if (!parsed.ok) {
		return parsed;
	}

	const m = parsed.message;
	switch (m['type']) {
		case 'hello': {
			if (!isString(m['ceremony'], 64) || !isString(m['ca']) || !isString(m['controller']) || !isString(m['controllerName'], 256) || !isString(m['expires'], 64)) {
				return {ok: false, reason: 'a hello needs ceremony, ca, controller, controllerName and expires'};
			}

			return {ok: true, message: {type: 'hello', ceremony: m['ceremony'], ca: m['ca'], controller: m['controller'], controllerName: m['controllerName'], expires: m['expires']}};
		}

		case 'nonce': {
			return typeof m['nonce'] === 'string' && hex(64).test(m['nonce']) ? {ok: true, message: {type: 'nonce', nonce: m['nonce']}} : {ok: false, reason: 'a nonce must be 32 bytes of hex'};
		}

		case 'pending': {
			return {ok: true, message: {type: 'pending'}};
		}

		case 'approved': {
			if (!isString(m['certificate'])) {
				return {ok: false, reason: 'an approval needs a certificate'};
			}

			if (m['relay'] !== undefined && !isString(m['relay'], 300)) {
				return {ok: false, reason: 'an approval\'s relay must be the broker\'s URL'};
			}

			return {ok: true, message: {type: 'approved', certificate: m['certificate'], ...(m['relay'] === undefined ? {} : {relay: m['relay']})}};
		}

		case 'paired': {
			return {ok: true, message: {type: 'paired'}};
		}

		case 'refused': {
			return {ok: true, message: {type: 'refused', reason: isString(m['reason'], 500) ? m['reason'] : 'refused'}};
		}

		default: {
			return {ok: false, reason: `unknown pairing message ${JSON.stringify(m['type'])}`};
		}
	}
}
