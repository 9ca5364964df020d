/** `xi-exec-agent pair --controller HOST:PORT [--ca-sha256 HASH] [--json]`: the agent's face of the ceremony. */
import {createInterface} from 'node:readline/promises';
import {XiError} from '../source/errors.js';
import {parseHostPort} from '../source/io/address.js';
import {writeFileAtomic} from '../source/io/files.js';
import {codeHash, formatCode} from '../source/pairing/code.js';
import {openAgentAudit} from './agent-audit.js';
import {colonHex} from '../source/pki/fingerprints.js';
import {isRelayUrl} from '../source/relay/relay-url.js';
import {readAgentConfig, writeAgentConfig, writePins, type AgentPaths} from './home.js';
import {pairWithController, type PairingCode} from './pair.js';
import {safeJson} from '../source/output/visible.js';

export type PairCommandInput = {controller?: string; caSha256?: string; json: boolean; timeoutSeconds: number};

export async function pairCommand(paths: AgentPaths, input: PairCommandInput, io: {stdout: (text: string) => void; interactive: boolean}): Promise<number> {
	const config = readAgentConfig(paths);
	const controller = parseHostPort(input.controller ?? '');
	if (typeof controller === 'string') {
		throw new XiError('USAGE', `--controller ${controller}; for example --controller 10.0.0.1:7400.`);
	}

	if (input.caSha256 !== undefined && !/^[0-9a-f]{64}$/.test(input.caSha256.toLowerCase().replaceAll(':', ''))) {
		throw new XiError('USAGE', '--ca-sha256 must be the 64 hex digits printed by `xi-exec ca fingerprint`.');
	}

	if (!io.interactive && input.caSha256 === undefined) {
		throw new XiError('USAGE', 'pair needs a terminal to confirm the controller, or --ca-sha256 HASH (printed by `xi-exec ca fingerprint` on the controller) to pin its CA.');
	}

	const say = (human: string, json: Record<string, unknown>) => io.stdout(input.json ? safeJson(json) + '\n' : human);
	// The agent's side of the ceremony is audited too (a hash of the code, never the code).
	const audit = openAgentAudit(paths, config);
	const record = (fields: Record<string, unknown> & {event: string}) => audit.append({agent: config.name, controller: input.controller, ...fields}).catch(() => undefined);
	if (!input.json) {
		io.stdout(`Pairing ${config.name} with the controller at ${input.controller}...\n`);
	}

	const outcome = await pairWithController({
		controller,
		name: config.name,
		address: config.advertise ?? config.listen,
		...(config.relay === undefined ? {} : {relay: config.relay}),
		tags: config.tags,
		...(input.caSha256 === undefined ? {} : {caSha256: input.caSha256.toLowerCase().replaceAll(':', '')}),
		timeoutMs: input.timeoutSeconds * 1000,
		now: () => new Date(),
		onCode(code: PairingCode) {
			void record({event: 'pairing.code', ceremony: code.ceremony, codeHash: codeHash(code.ceremony, code.code), caSha256: code.caSha256});
			say(
				`\n  Verification code:  ${formatCode(code.code)}\n  CA fingerprint:     ${colonHex(code.caSha256)}\n  Controller:         ${code.controllerName}\n\nType this code on the controller: approve ${config.name} ${formatCode(code.code)}\n`,
				{event: 'code', agent: config.name, code: code.code, ca: code.caSha256, ceremony: code.ceremony},
			);
		},
		onStatus(status) {
			if (!input.json) {
				io.stdout(status === 'waiting' ? 'Waiting for the operator to approve on the controller...\n' : 'The controller approved this agent.\n');
			}
		},
		async confirm(code) {
			const prompt = createInterface({input: process.stdin, output: process.stderr});
			try {
				const answer = await prompt.question(`Check that the controller shows ${config.name} approved with code ${formatCode(code.code)}, then type yes to trust it: `);
				return answer.trim().toLowerCase() === 'yes';
			} finally {
				prompt.close();
			}
		},
	});

	if (!outcome.ok) {
		await record({event: 'pairing.refused', reason: outcome.reason});
		say(`Not paired: ${outcome.reason}. Nothing was stored.\n`, {event: 'refused', agent: config.name, reason: outcome.reason});
		return 1;
	}

	writeFileAtomic(paths.key, outcome.keyPem, 0o600);
	writeFileAtomic(paths.cert, outcome.certificatePem, 0o644);
	writeFileAtomic(paths.ca, outcome.caPem, 0o644);
	writePins(paths, outcome.pins);
	// The controller reaches this agent through this broker (it said so after the code matched): dial it from the next start.
	const relay = outcome.relay !== undefined && isRelayUrl(outcome.relay) ? outcome.relay : undefined;
	if (relay !== undefined && relay !== config.relay) {
		writeAgentConfig(paths, {...config, relay});
	}

	await record({event: 'pairing.paired', serial: outcome.serial, controllerSerials: outcome.pins.controllerSerials, caSha256: outcome.pins.caSha256, ...(relay === undefined ? {} : {relay})});
	// Sealed with the new key: from now on the log's checkpoints are this agent's.
	audit.credentialsChanged();
	await audit.close().catch(() => undefined);
	say(
		`Paired: ${config.name} holds certificate ${outcome.serial} and trusts controller ${outcome.pins.controllerSerials[0]}.${relay === undefined ? '' : ` The controller reaches it through the broker ${relay} (kept in config.json).`}\nNext: start the agent with \`xi-exec-agent start\`.\n`,
		{event: 'paired', agent: config.name, serial: outcome.serial, controllerSerial: outcome.pins.controllerSerials[0], ca: outcome.pins.caSha256, ...(relay === undefined ? {} : {relay})},
	);
	return 0;
}
