/**
 * The relay floor: the least any implementation of issue 23's Must-hold can spend on the
 * controller per agent over the same broker (nats-server) with the same client (@nats-io): one
 * canonical request envelope signed for each target agent (the controller certificate's key,
 * ECDSA P-256), published on that agent's subject, and one signed reply from each agent, verified
 * with the agent's public key (a KeyObject made once, as the controller's certificate-key cache
 * holds it) and checked to answer that very envelope (its hash), from that agent and serial.
 * Nothing else: no exchange objects, no timers per agent, no status questions, no frame schema,
 * no dispatcher; the run's body is canonicalised once per run (it is the same for every agent),
 * each envelope written by a template in canonical key order. Publishes made in one synchronous
 * stretch go out in one socket write (the client flushes once per microtask turn).
 *
 * The agents' side (relay-floor-host.ts) is as bare as the direct floor's bare servers: it checks
 * the controller's signature (what a bare server's TLS handshake checks of the client) and answers
 * with one signed reply (relayFloorReply). Both messages are laid out as the product lays them out
 * (relay-envelope.ts): the real agent's checks take the floor's request, and the real controller's
 * chain check takes the floor's reply (test/relay/relay-floor.test.ts).
 */
import {createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign, verify, type KeyObject} from 'node:crypto';
import {performance} from 'node:perf_hooks';
import {connect, type NatsConnection} from '@nats-io/transport-node';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import {canonicalJson} from '../source/protocol/canonical-json.js';
import {brokerTls} from '../source/relay/broker-tls.js';
import type {FanOutTiming} from './floor.js';

const signedPrefix = Buffer.from('xi-exec relay v1\n');
/** `{"env":` opens every message; a reply ends `,"sig":"…"}`. */
const envStart = 7;
const sigStart = Buffer.from(',"sig":"');
const certStart = Buffer.from(',"cert":"');

export type FloorTarget = {name: string; serial: string; certificate: string};
/** What the floor controller reads once (as a relay link does once per process): its signing key, serial, fleet, certificate text, and each agent's public key. */
export type FloorController = {key: string; certificate: string; ca: string; keyObject: KeyObject; serial: string; fleet: string; certificateBase64: string; agentKeys: Map<string, KeyObject>};

export function floorController(credentials: {key: string; cert: string; ca: string}, targets: readonly FloorTarget[]): FloorController {
	const serial = certificateFacts(Buffer.from(credentials.cert))!.serial;
	const fleet = certificateFacts(Buffer.from(credentials.ca))!.publicKeySha256;
	const der = Buffer.from(credentials.cert.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');
	return {
		key: credentials.key,
		certificate: credentials.cert,
		ca: credentials.ca,
		keyObject: createPrivateKey(credentials.key),
		serial,
		fleet,
		certificateBase64: der.toString('base64'),
		agentKeys: new Map(targets.map(target => [target.name, createPublicKey(target.certificate)])),
	};
}

let noncePool = Buffer.alloc(0);
let nonceOffset = 0;
function nonce(): string {
	if (nonceOffset + 16 > noncePool.length) {
		noncePool = randomBytes(4096);
		nonceOffset = 0;
	}

	nonceOffset += 16;
	return noncePool.toString('hex', nonceOffset - 16, nonceOffset);
}

/** The run's body as every request carries it: a dry run of `script` (what the dispatcher sends), canonical. */
export function floorRunBody(id: string, script: string, caller: string, timeoutMs: number): string {
	return canonicalJson({type: 'run', id, script, args: [], caller, timeoutMs, dryRun: true})!;
}

/** One request envelope for `agent`, signed: the message and the hash its reply must name. Keys in canonical (sorted) order. */
export function floorRequest(controller: FloorController, agent: string, id: string, body: string, seq: number, now: number): {message: string; hash: string} {
	const env = `{"agent":"${agent}","body":${body},"exp":${now + 60_000},"fleet":"${controller.fleet}","iat":${now},"id":"${id}","kind":"request","nonce":"${nonce()}","probe":true,"seq":${seq},"serial":"${controller.serial}","v":1}`;
	const bytes = Buffer.concat([signedPrefix, Buffer.from(env)]);
	const hash = createHash('sha256').update(bytes).digest('hex');
	const sig = sign('sha256', bytes, controller.keyObject).toString('base64');
	return {message: `{"env":${env},"sig":"${sig}","cert":"${controller.certificateBase64}"}`, hash};
}

/** Why a reply does not answer `hash` from `agent` (signed with `key`, the agent's serial `serial`), or undefined when it does and says the run went well. */
export function floorReplyProblem(data: Uint8Array, hash: string, agent: string, serial: string, key: KeyObject): string | undefined {
	const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
	const at = buffer.lastIndexOf(sigStart);
	if (at < envStart || buffer[buffer.length - 2] !== 0x22 || buffer[buffer.length - 1] !== 0x7D) {
		return 'not laid out as {"env":…,"sig":"…"}';
	}

	const envBytes = buffer.subarray(envStart, at);
	const signed = Buffer.concat([signedPrefix, envBytes]);
	if (!verify('sha256', signed, key, Buffer.from(buffer.toString('latin1', at + sigStart.length, buffer.length - 2), 'base64'))) {
		return 'the signature does not verify';
	}

	const env = JSON.parse(envBytes.toString()) as {kind?: string; agent?: string; serial?: string; req?: string; prev?: string; seq?: number; body?: {type?: string; status?: string}};
	if (env.kind !== 'reply' || env.agent !== agent || env.serial !== serial || env.req !== hash || env.prev !== hash || env.seq !== 1) {
		return 'not the first reply of this agent to this request';
	}

	return env.body?.type === 'result' && env.body.status === 'ok' ? undefined : `a ${env.body?.type} reply`;
}

/** A dry run's result, as an agent's carries it (its audit head's fields, about as long). */
const agentHead = {log: 'agent', seq: 1, hash: 'a'.repeat(64), signature: 's'.repeat(96), keyId: 'b'.repeat(16)};

/**
 * The floor agent's answer to one request message: the controller's signature checked with the
 * certificate the message carries (`controllerKey` makes its key, once per certificate), then one
 * signed reply, the first of the request's chain (relay-envelope.ts): undefined when the message
 * is not laid out as sealed or its signature does not verify.
 */
export function relayFloorReply(data: Uint8Array, agent: {name: string; serial: string; key: KeyObject}, controllerKey: (certificate: string) => KeyObject, now: number): {id: string; message: string} | undefined {
	const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
	const at = buffer.lastIndexOf(sigStart);
	const certAt = buffer.lastIndexOf(certStart);
	if (at < envStart || certAt < at || buffer[buffer.length - 2] !== 0x22) {
		return undefined;
	}

	const signed = Buffer.concat([signedPrefix, buffer.subarray(envStart, at)]);
	const sig = Buffer.from(buffer.toString('latin1', at + sigStart.length, certAt - 1), 'base64');
	if (!verify('sha256', signed, controllerKey(buffer.toString('latin1', certAt + certStart.length, buffer.length - 2)), sig)) {
		return undefined;
	}

	const {id} = JSON.parse(buffer.toString('utf8', envStart, at)) as {id: string};
	const hash = createHash('sha256').update(signed).digest('hex');
	const body = canonicalJson({type: 'result', id, status: 'ok', exitCode: null, signal: null, durationMs: 0, truncated: false, bytes: {stdout: 0, stderr: 0}, reason: 'dry run: every check passed; nothing ran', agentHead})!;
	const env = `{"agent":"${agent.name}","body":${body},"iat":${now},"id":"${id}","kind":"reply","prev":"${hash}","req":"${hash}","seq":1,"serial":"${agent.serial}","v":1}`;
	const replySig = sign('sha256', Buffer.concat([signedPrefix, Buffer.from(env)]), agent.key).toString('base64');
	return {id, message: `{"env":${env},"sig":"${replySig}"}`};
}

/**
 * One dry run on `targets` over the broker at `url`: a connection of its own per run (as a CLI
 * run opens one), at most `parallel` agents waiting at once, the next request sent from the
 * callback that took a reply. `timeoutMs` bounds the whole run (an agent not heard from fails).
 */
export async function relayFloorFanOut(url: string, controller: FloorController, targets: readonly FloorTarget[], parallel: number, timeoutMs = 300_000): Promise<FanOutTiming> {
	const started = performance.now();
	const connection: NatsConnection = await connect({servers: url, tls: brokerTls({key: controller.key, cert: controller.certificate, ca: controller.ca}), reconnect: false});
	const id = randomUUID();
	const body = floorRunBody(id, 'uptime', 'bench@localhost', 300_000);
	const waiting = new Map<string, {index: number; hash: string}>();
	const failures: string[] = [];
	const doneMs: number[] = [];
	let next = 0;
	let seq = Date.now() * 1000;
	let finish: () => void = () => undefined;
	const finished = new Promise<void>(resolve => {
		finish = resolve;
	});
	const send = () => {
		if (next >= targets.length) {
			if (waiting.size === 0) {
				finish();
			}

			return;
		}

		const index = next++;
		const {name} = targets[index]!;
		const {message, hash} = floorRequest(controller, name, id, body, ++seq, Date.now());
		waiting.set(`xi.r.${name.replaceAll('.', '_')}.${id}`, {index, hash});
		connection.publish(`xi.a.${name.replaceAll('.', '_')}.req`, message);
	};

	connection.subscribe('xi.r.>', {
		callback(error, message) {
			const wait = error ? undefined : waiting.get(message.subject);
			if (!wait) {
				return;
			}

			waiting.delete(message.subject);
			const target = targets[wait.index]!;
			const problem = floorReplyProblem(message.data, wait.hash, target.name, target.serial, controller.agentKeys.get(target.name)!);
			if (problem) {
				failures.push(`${target.name}: ${problem}`);
			}

			doneMs.push(performance.now() - started);
			send();
		},
	});
	await connection.flush();
	for (let index = 0; index < Math.min(parallel, targets.length); index++) {
		send();
	}

	if (targets.length === 0) {
		finish();
	}

	const timer = setTimeout(() => {
		failures.push(...[...waiting.values()].map(wait => `${targets[wait.index]!.name}: no reply within ${timeoutMs / 1000} s`));
		finish();
	}, timeoutMs);
	await finished;
	clearTimeout(timer);
	await connection.drain().catch(() => undefined);
	const ms = performance.now() - started;
	return {ms, ok: targets.length - failures.length, failures, doneMs};
}
