/**
 * `xi-exec pair --listen HOST:PORT [--json] [--replace]`: open the pairing listener and approve
 * requests by the code read on each agent's screen. Commands arrive as lines on stdin, from a
 * person or a script: `approve NAME CODE`, `reject NAME`. With --json, every event is a JSON line.
 */
import {createInterface} from 'node:readline';
import {XiError} from '../errors.js';
import {openControllerRegistry, type ControllerPaths} from '../home.js';
import {openPairingSession} from '../core/pairing-session.js';
import {parseHostPort} from '../io/address.js';
import {safeJson, visible} from '../output/visible.js';
import type {PairingEvent, PairingListener} from '../pairing/listener.js';
import {formatTags} from '../policy/tags.js';
import {exitInterrupted, type CommandIo} from '../io/command-io.js';
import {describeTransport, type OperatorTransport} from '../pairing/transport-choice.js';
import {agentTransports} from '../registry/model.js';
import {isRelayUrl} from '../relay/relay-url.js';

export type PairInput = {listen?: string; json: boolean; replace: boolean; timeoutSeconds: number; transport?: string; relay?: string};

/** `--transport` and `--relay`, checked together: every bad value named in one refusal. */
export function operatorTransport(input: {transport?: string; relay?: string}): OperatorTransport {
	const problems: string[] = [];
	const transport = input.transport === undefined ? undefined : agentTransports.find(known => known === input.transport);
	if (input.transport !== undefined && !transport) {
		problems.push(`--transport ${JSON.stringify(input.transport)} is not one of ${agentTransports.join(', ')}`);
	}

	if (input.relay !== undefined && !isRelayUrl(input.relay)) {
		problems.push(`--relay ${JSON.stringify(input.relay)} is not the broker's nats://HOST:PORT`);
	}

	if (transport === 'tls' && input.relay !== undefined) {
		problems.push('--relay has no use with --transport tls');
	}

	if (problems.length > 0) {
		throw new XiError('USAGE', `${problems.join('; ')}; for example --transport nats --relay nats://broker.example.net:4222.`);
	}

	return {...(transport ? {transport} : {}), ...(input.relay === undefined ? {} : {relay: input.relay})};
}

export async function pairCommand(paths: ControllerPaths, input: PairInput, io: CommandIo & {stdin: NodeJS.ReadableStream}): Promise<number> {
	const listen = parseHostPort(input.listen ?? '');
	if (typeof listen === 'string') {
		throw new XiError('USAGE', `--listen ${listen}; for example --listen 0.0.0.0:7400.`);
	}

	const transport = operatorTransport(input);

	const print = (human: string, json: Record<string, unknown>) => io.stdout(input.json ? safeJson(json) + '\n' : human);
	const listener = await openPairingSession(paths, {
		listen,
		registry: openControllerRegistry(paths),
		replace: input.replace,
		...(transport ? {transport} : {}),
		timeoutMs: input.timeoutSeconds * 1000,
		onEvent: event => print(describeEvent(event), event),
		onBroker(agent, {ok, sentence}) {
			print(`${sentence}\n`, {event: 'broker', agent, ok, message: sentence});
		},
		onAuditError(error) {
			io.stderr(`xi-exec: ${(error as Error).message}\n`);
		},
	}).catch((error: NodeJS.ErrnoException) => {
		throw new XiError('USAGE', `Cannot listen on ${input.listen}: ${error.code ?? error.message}.`, {cause: error});
	});

	const commands = createInterface({input: io.stdin}).on('line', line => {
		void handleCommand(listener, line, print);
	});

	return new Promise(resolve => {
		io.onInterrupt(() => {
			// An open stdin would keep the process alive after Ctrl-C.
			commands.close();
			void listener.close().then(() => {
				resolve(exitInterrupted);
			});
		});
	});
}

async function handleCommand(listener: PairingListener, line: string, print: (human: string, json: Record<string, unknown>) => void): Promise<void> {
	const [verb, name, ...code] = line.trim().split(/\s+/);
	if (verb === 'approve' && name && code.length > 0) {
		const approval = await listener.approve(name, code.join(''));
		if (approval.ok) {
			print(`${name}: agent ${approval.agentCode} = controller ${approval.controllerCode}: approved; waiting for ${name} to confirm.\n`, {event: 'approve', agent: name, match: true});
		} else {
			print(`${name}: ${approval.reason}.\n`, {event: 'approve', agent: name, match: false, reason: approval.reason});
		}

		return;
	}

	if (verb === 'reject' && name) {
		const rejected = listener.reject(name);
		if (!rejected) {
			print(`No pairing request from ${name}.\n`, {event: 'error', reason: `no pairing request from ${name}`});
		}

		return;
	}

	if (verb) {
		print(`Commands: approve NAME CODE, reject NAME.\n`, {event: 'error', reason: `unknown command ${JSON.stringify(line.trim())}; use "approve NAME CODE" or "reject NAME"`});
	}
}

function describeEvent(event: PairingEvent): string {
	switch (event.event) {
		case 'listening': {
			return `Pairing listener open on ${event.address}. On the new host: xi-exec-agent pair --controller ${event.address}\nType approve NAME CODE (the code shown on the agent) or reject NAME. Ctrl-C closes the listener.\n`;
		}

		case 'request': {
			return `\nPairing request: ${visible(event.agent)} at ${visible(event.address)} (connected from ${event.source})\n  tags: ${formatTags(event.tags) || '(none)'}\n  via:  ${visible(describeTransport({transport: event.transport ?? 'tls', ...(event.relay ? {relay: event.relay} : {})}))}\n  key:  ${event.fingerprint.slice(0, 47)}\nRead the code on ${event.agent}'s screen, then type: approve ${event.agent} CODE   (or: reject ${event.agent})\n`;
		}

		case 'wrong-code': {
			return '';
		}

		case 'approved': {
			return '';
		}

		case 'paired': {
			return `${event.agent} is paired (certificate ${event.serial}${event.transport && event.transport !== 'tls' ? `, reached through the broker ${visible(event.relay ?? '?')}` : ''}); \`xi-exec agents\` shows it.\n`;
		}

		case 'refused': {
			return `Refused${event.agent ? ` ${visible(event.agent)}` : ''} (from ${event.source}): ${visible(event.reason)}.\n`;
		}
	}
}
