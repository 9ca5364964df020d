/**
 * The nats-server configuration for the relay, generated from the registry (pure): TLS with the
 * fleet CA and `verify_and_map`, so the one SAN URI of each client certificate is its broker
 * user (nats-server 2.9 matches a certificate's URIs against the user names), and least
 * privilege per user:
 *
 *   xi-exec:controller      publish xi.a.*.req; subscribe xi.r.>, xi.p.*
 *   xi-exec:agent/NAME      subscribe xi.a.NAME.req; publish xi.r.NAME.*, xi.p.NAME
 *
 * Nothing else is allowed to anyone: no agent can read another's requests or answer as another,
 * and there is no broadcast subject. Only agents whose registry record says they use the relay
 * get a user; unpairing removes it, and a reload drops its live connection. The broker is still
 * never trusted: every frame is signed end to end (relay-envelope.ts).
 */
import {identityUri} from '../pki/identity-uri.js';
import {relaySubjects} from '../protocol/relay-subjects.js';
import {limits} from '../protocol/frames.js';
import {relayLimits} from '../protocol/relay-envelope.js';

export type BrokerFiles = {cert: string; key: string; ca: string; pidFile: string};

export type BrokerUser = {user: string; publish: string[]; subscribe: string[]};

/** The agents of the registry the broker has a user for: those reached through the relay. */
export function relayAgentNames(agents: ReadonlyArray<{name: string; transport?: string}>): string[] {
	return agents.filter(agent => agent.transport === 'nats' || agent.transport === 'both').map(agent => agent.name).sort();
}

export function brokerUsers(agents: readonly string[]): BrokerUser[] {
	return [
		{user: identityUri({role: 'controller'}), publish: [relaySubjects.anyRequests], subscribe: [relaySubjects.allReplies, relaySubjects.allPresence]},
		...[...agents].sort().map(name => ({
			user: identityUri({role: 'agent', name}),
			publish: [relaySubjects.replies(name), relaySubjects.presence(name)],
			subscribe: [relaySubjects.requests(name)],
		})),
	];
}

const quote = (text: string) => JSON.stringify(text);
const list = (items: readonly string[]) => `[${items.map(quote).join(', ')}]`;

/**
 * A cluster of brokers (three for production): every node gets the same file. Routes are mutual
 * TLS with the fleet CA and `verify_and_map`, and only the broker's own identity may be a route
 * (`xi-exec:broker`): an agent's certificate, valid for client authentication too, cannot join as
 * a route and read every subject. A node ignores the route to itself.
 */
export type BrokerCluster = {name: string; listen: string; routes: readonly string[]};

export function brokerConfig(options: {listen: string; files: BrokerFiles; agents: readonly string[]; cluster?: BrokerCluster}): string {
	const users = brokerUsers(options.agents).map(user =>
		`\t\t{user: ${quote(user.user)}, permissions: {publish: {allow: ${list(user.publish)}}, subscribe: {allow: ${list(user.subscribe)}}}}`);
	const tls = (indent: string) => [
		`${indent}tls {`,
		`${indent}\tcert_file: ${quote(options.files.cert)}`,
		`${indent}\tkey_file: ${quote(options.files.key)}`,
		`${indent}\tca_file: ${quote(options.files.ca)}`,
		`${indent}\tverify_and_map: true`,
		`${indent}\ttimeout: 5`,
		`${indent}}`,
	];
	const {cluster} = options;
	return [
		'# nats-server configuration for the xi-exec relay, written by `xi-exec relay config`.',
		'# Regenerated on every pairing and unpairing of a relay agent: do not edit by hand.',
		`listen: ${quote(options.listen)}`,
		`pid_file: ${quote(options.files.pidFile)}`,
		`max_payload: ${limits.responseFrameBytes + relayLimits.envelopeOverheadBytes + 4096}`,
		...tls(''),
		'authorization {',
		'\tusers: [',
		...users,
		'\t]',
		'}',
		...(cluster ? [
			'cluster {',
			`\tname: ${quote(cluster.name)}`,
			`\tlisten: ${quote(cluster.listen)}`,
			...tls('\t'),
			`\tauthorization {user: ${quote(identityUri({role: 'broker'}))}}`,
			`\troutes: ${list(cluster.routes)}`,
			'}',
		] : []),
		'',
	].join('\n');
}
