/**
 * The broker's configuration written again from the registry, and the broker reloaded when it runs
 * on this host: by `relay config`, and after every pairing and unpairing of a relay agent, so that
 * approving a pairing gives the agent its broker user and unpairing takes it away (a reload drops
 * the live connection of a user that is gone). Each write is audited as `relay.config`.
 */
import type {AuditLog} from '../audit/file-log.js';
import {openControllerRegistry, type ControllerPaths} from '../home.js';
import {defaultCaller} from '../io/command-io.js';
import {relayAgentNames} from './broker-config.js';
import {brokerFiles, reloadBroker, writeBrokerConfig} from './broker-files.js';
import {readRelaySettings, type RelaySettings} from './relay-settings.js';

export type BrokerOutcome = {config: string; agents: string[]; reload: 'reloaded' | 'not-running' | 'not-asked'};

export async function writeAndReload(paths: ControllerPaths, settings: RelaySettings, audit: Pick<AuditLog, 'append'>, reload: boolean): Promise<BrokerOutcome> {
	const agents = relayAgentNames((await openControllerRegistry(paths).read()).agents);
	const config = writeBrokerConfig(settings.directory, {listen: settings.listen, agents, ...(settings.cluster ? {cluster: settings.cluster} : {})});
	const reloaded = reload ? reloadBroker(brokerFiles(settings.directory).pidFile) : 'not-asked';
	await audit.append({event: 'relay.config', config, agents, ...(settings.cluster ? {cluster: settings.cluster.name, routes: settings.cluster.routes} : {}), reload: reloaded, caller: defaultCaller()});
	return {config, agents, reload: reloaded};
}

export function describeOutcome(outcome: BrokerOutcome): string {
	const users = outcome.agents.length === 0 ? 'no relay agent yet (pair one with --transport nats)' : `users for ${outcome.agents.join(', ')}`;
	const reload = {
		reloaded: 'The broker running here was asked to reload it (SIGHUP).',
		'not-running': 'No broker runs here with that pid file: copy the directory to the broker host and reload it there (`kill -HUP $(cat nats-server.pid)` or `systemctl reload nats-server`).',
		'not-asked': 'Check it with `nats-server -c FILE -t`, then start nats-server with it (or reload a running one: --reload).',
	}[outcome.reload];
	return `Wrote ${outcome.config}: the controller and ${users}. ${reload}`;
}

/**
 * After a pairing or unpairing of a relay agent: the configuration written as `relay config` last
 * wrote it, and the broker reloaded. A sentence for the operator in every case: when no relay is
 * configured yet, or the write failed, it says what to run. Never throws (the pairing or
 * unpairing itself is done and recorded).
 */
export async function refreshBroker(paths: ControllerPaths, audit: Pick<AuditLog, 'append'>): Promise<{ok: boolean; sentence: string}> {
	try {
		const settings = readRelaySettings(paths.home);
		if (!settings) {
			return {ok: false, sentence: 'No broker is configured yet: run `xi-exec relay cert --dir DIR --host NAME` and `xi-exec relay config --dir DIR` to give the broker its users.'};
		}

		return {ok: true, sentence: describeOutcome(await writeAndReload(paths, settings, audit, true))};
	} catch (error) {
		return {ok: false, sentence: `The broker's configuration was not updated (${(error as Error).message}); run \`xi-exec relay config --reload\` once that is fixed.`};
	}
}
