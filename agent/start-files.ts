/**
 * What `xi-exec-agent start` reads before anything else, each checked: the home's strict modes
 * first (nothing is read from a home others could have changed), the config, the pins, the
 * credentials (the certificate not expired, the CA the one pinned at pairing), and where to listen.
 */
import {XiError} from '../source/errors.js';
import {parseHostPort, type HostPort} from '../source/io/address.js';
import {certificateFacts} from '../source/pki/certificate-facts.js';
import {readCredentials, type AgentCredentials} from './credentials.js';
import {checkHomeModes} from './home-modes.js';
import {readAgentConfig, readPins, type AgentConfig, type AgentPaths} from './home.js';
import type {Pins} from './pins.js';

export type StartFiles = {
	config: AgentConfig;
	pins: Pins;
	credentials: AgentCredentials;
	/** Where to listen; undefined with `"listen": "none"` (reached only through the relay). */
	listen: HostPort | undefined;
};

export function readStartFiles(paths: AgentPaths, now: Date): StartFiles {
	checkHomeModes(paths);
	const config = readAgentConfig(paths);
	const pins = readPins(paths);
	const credentials = readCredentials(paths);
	const own = readFacts(credentials.cert, paths.cert);
	if (own.notAfter.getTime() <= now.getTime()) {
		throw new XiError('CERTIFICATE_EXPIRED', `This agent's certificate expired at ${own.notAfter.toISOString()} (it was not renewed while the agent was away); pair it again: \`xi-exec-agent pair --controller HOST:PORT\` while \`xi-exec pair\` runs on the controller.`);
	}

	if (readFacts(credentials.ca, paths.ca).publicKeySha256 !== pins.caSha256) {
		throw new XiError('CONFIG_INVALID', `${paths.ca} is not the CA this agent pinned at pairing; restore it or pair again.`);
	}

	return {config, pins, credentials, listen: listenAddress(config, paths.config)};
}

/**
 * Where the agent listens. `"listen": "none"` with a relay: reached only through the broker, no
 * inbound port at all (a device behind NAT). Pure.
 */
export function listenAddress(config: Pick<AgentConfig, 'listen' | 'relay'>, configPath: string): HostPort | undefined {
	if (config.listen === 'none') {
		if (config.relay === undefined) {
			throw new XiError('CONFIG_INVALID', `"listen" in ${configPath} is "none", but no "relay" is set: the controller could not reach this agent at all; set "relay" to the broker's nats://HOST:PORT or "listen" to HOST:PORT.`);
		}

		return undefined;
	}

	const listen = parseHostPort(config.listen);
	if (typeof listen === 'string') {
		throw new XiError('CONFIG_INVALID', `"listen" in ${configPath}: ${listen}.`);
	}

	return listen;
}

/** A certificate's facts; a file that holds none is a configuration error naming it. */
export function readFacts(pem: string, path: string) {
	const facts = certificateFacts(Buffer.from(pem));
	if (!facts) {
		throw new XiError('CONFIG_INVALID', `${path} is not a certificate; restore it or pair again.`);
	}

	return facts;
}
