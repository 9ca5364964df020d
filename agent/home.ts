/**
 * The agent's home ($XI_EXEC_AGENT_HOME): everything it needs, nothing it cannot rebuild.
 *
 *   config.json      name, listen address, advertised address, tags, limits
 *   allowlist.json   the scripts it may run
 *   agent.key/.pem   its own key (0600) and certificate
 *   ca.pem           the fleet CA certificate
 *   pins.json        the CA public-key hash and the controller serials it accepts
 *   agent.pid        the running daemon's pid (for `allow`/`deny` to signal a reload)
 */
import {homedir} from 'node:os';
import {isAbsolute, join, normalize} from 'node:path';
import {XiError} from '../source/errors.js';
import {existsSync, readJsonFile, writeFileAtomic} from '../source/io/files.js';
import {isRelayUrl} from '../source/relay/relay-url.js';
import type {Tags} from '../source/policy/tags.js';
import {emptyAllowlist, parseAllowlist, type AllowlistFile} from './allowlist.js';
import {parseLoopbackAddress} from './metrics/loopback-address.js';
import type {Pins} from './pins.js';

export type AgentLimits = {
	maxConcurrentRuns: number;
	maxQueuedRuns: number;
	outputCapBytes: number;
	handshakeTimeoutMs: number;
	/** A connection must send its request within this time, and may stay silent no longer. */
	idleTimeoutMs: number;
	killGraceMs: number;
	maxConnections: number;
};

export const defaultLimits: AgentLimits = {
	maxConcurrentRuns: 16,
	maxQueuedRuns: 64,
	outputCapBytes: 1024 * 1024,
	handshakeTimeoutMs: 10_000,
	idleTimeoutMs: 30_000,
	killGraceMs: 2000,
	maxConnections: 1024,
};

export type AgentConfig = {
	name: string;
	listen: string;
	advertise?: string;
	tags: Tags;
	workingDirectory: string;
	limits: AgentLimits;
	/** The auth hook: an absolute path to an executable, or an https:// URL. Only from this file. */
	hook?: string;
	/** The interpreter of a `#!/usr/bin/env NAME` hook (the reference hook's is node): absolute, base name NAME. */
	hookInterpreter?: string;
	hookTimeoutMs?: number;
	/** Forward audit records to syslog: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT. */
	syslog?: string;
	/** The size in bytes at which the audit file rotates (default 64 MiB). */
	auditRotateBytes?: number;
	/** Where GET /metrics listens (plain HTTP, a loopback address only); off when absent. */
	metrics?: string;
	/** The relay's broker this agent dials out to (nats://HOST:PORT), when it is reached through one. */
	relay?: string;
};

export type AgentPaths = ReturnType<typeof agentPaths>;

export function agentPaths(home: string) {
	return {
		home,
		config: join(home, 'config.json'),
		allowlist: join(home, 'allowlist.json'),
		key: join(home, 'agent.key'),
		cert: join(home, 'agent.pem'),
		ca: join(home, 'ca.pem'),
		pins: join(home, 'pins.json'),
		pid: join(home, 'agent.pid'),
		auditDirectory: join(home, 'audit'),
		auditLog: join(home, 'audit', 'agent.jsonl'),
	};
}

export function resolveAgentHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
	return flag ?? env['XI_EXEC_AGENT_HOME'] ?? (process.getuid?.() === 0 ? '/var/lib/xi-exec-agent' : join(homedir(), '.xi-exec-agent'));
}

export function readAgentConfig(paths: AgentPaths): AgentConfig {
	if (!existsSync(paths.config)) {
		throw new XiError('NOT_INITIALISED', `${paths.home} has no agent configuration; run \`xi-exec-agent init --name NAME --listen HOST:PORT\` first.`);
	}

	const raw = readJsonFile(paths.config, 'the agent configuration') as Partial<AgentConfig>;
	if (typeof raw.name !== 'string' || typeof raw.listen !== 'string' || typeof raw.tags !== 'object' || raw.tags === null) {
		throw new XiError('CONFIG_INVALID', `${paths.config} needs "name", "listen" and "tags".`);
	}

	return {
		name: raw.name,
		listen: raw.listen,
		...(typeof raw.advertise === 'string' ? {advertise: raw.advertise} : {}),
		tags: raw.tags,
		workingDirectory: typeof raw.workingDirectory === 'string' ? raw.workingDirectory : '/',
		limits: {...defaultLimits, ...raw.limits},
		...(typeof raw.hook === 'string' ? {hook: raw.hook} : {}),
		...(raw.hookInterpreter === undefined ? {} : {hookInterpreter: absolutePath(raw.hookInterpreter, 'hookInterpreter', paths)}),
		...(typeof raw.hookTimeoutMs === 'number' ? {hookTimeoutMs: raw.hookTimeoutMs} : {}),
		...(typeof raw.syslog === 'string' ? {syslog: raw.syslog} : {}),
		...(raw.auditRotateBytes === undefined ? {} : {auditRotateBytes: rotateBytes(raw.auditRotateBytes, paths)}),
		...(raw.metrics === undefined ? {} : {metrics: metricsAddress(raw.metrics, paths)}),
		...(raw.relay === undefined ? {} : {relay: relayUrl(raw.relay, paths)}),
	};
}

function relayUrl(value: unknown, paths: AgentPaths): string {
	if (!isRelayUrl(value)) {
		throw new XiError('CONFIG_INVALID', `"relay" in ${paths.config} must be the broker's nats://HOST:PORT (received ${JSON.stringify(value)}).`);
	}

	return value;
}

function absolutePath(value: unknown, key: string, paths: AgentPaths): string {
	if (typeof value !== 'string' || !isAbsolute(value) || normalize(value) !== value) {
		throw new XiError('CONFIG_INVALID', `"${key}" in ${paths.config} must be a normalised absolute path, such as "/usr/bin/node" (received ${JSON.stringify(value)}).`);
	}

	return value;
}

function metricsAddress(value: unknown, paths: AgentPaths): string {
	const parsed = typeof value === 'string' ? parseLoopbackAddress(value) : `${JSON.stringify(value)} is not a string such as "127.0.0.1:9464"`;
	if (typeof parsed === 'string') {
		throw new XiError('CONFIG_INVALID', `"metrics" in ${paths.config}: ${parsed}; remove "metrics" to turn the listener off.`);
	}

	return value as string;
}

function rotateBytes(value: unknown, paths: AgentPaths): number {
	if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 4096) {
		throw new XiError('CONFIG_INVALID', `"auditRotateBytes" in ${paths.config} must be a whole number of bytes of at least 4096 (received ${JSON.stringify(value)}).`);
	}

	return value;
}

export function writeAgentConfig(paths: AgentPaths, config: AgentConfig): void {
	writeFileAtomic(paths.config, JSON.stringify(config, null, '\t') + '\n', 0o600);
}

export function readAllowlistFile(paths: AgentPaths): AllowlistFile {
	if (!existsSync(paths.allowlist)) {
		return emptyAllowlist();
	}

	const parsed = parseAllowlist(readJsonFile(paths.allowlist, 'the allowlist'));
	if (!parsed.ok) {
		throw new XiError('CONFIG_INVALID', `${paths.allowlist} is invalid: ${parsed.problems.join('; ')}.`);
	}

	return parsed.allowlist;
}

export function writeAllowlistFile(paths: AgentPaths, allowlist: AllowlistFile): void {
	writeFileAtomic(paths.allowlist, JSON.stringify(allowlist, null, '\t') + '\n', 0o600);
}

export function readPins(paths: AgentPaths): Pins {
	if (!existsSync(paths.pins) || !existsSync(paths.cert) || !existsSync(paths.key)) {
		throw new XiError('NOT_INITIALISED', `${paths.home} has no certificate yet; pair this agent with \`xi-exec-agent pair --controller HOST:PORT\`.`);
	}

	const raw = readJsonFile(paths.pins, 'the pins') as Partial<Pins>;
	if (typeof raw.caSha256 !== 'string' || !Array.isArray(raw.controllerSerials) || raw.controllerSerials.length === 0) {
		throw new XiError('CONFIG_INVALID', `${paths.pins} needs "caSha256" and at least one of "controllerSerials"; pair again.`);
	}

	return {caSha256: raw.caSha256, controllerSerials: raw.controllerSerials.map(String)};
}

export function writePins(paths: AgentPaths, pins: Pins): void {
	writeFileAtomic(paths.pins, JSON.stringify(pins, null, '\t') + '\n', 0o600);
}
