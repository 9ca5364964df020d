/**
 * What `xi-exec relay config` was told, kept in the controller's home (`relay.json`) so that
 * pairing and unpairing a relay agent write the broker's configuration again the same way and
 * reload the broker: the broker's directory, its client listen address, its cluster. Absent
 * until `relay config` first runs.
 */
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {XiError} from '../errors.js';
import {readJsonFile, writeFileAtomic} from '../io/files.js';
import type {BrokerCluster} from './broker-config.js';

export type RelaySettings = {directory: string; listen: string; cluster?: BrokerCluster};

export const relaySettingsFile = (home: string) => join(home, 'relay.json');

export function readRelaySettings(home: string): RelaySettings | undefined {
	const path = relaySettingsFile(home);
	if (!existsSync(path)) {
		return undefined;
	}

	const raw = readJsonFile(path, 'the relay settings') as Partial<RelaySettings> | null;
	if (typeof raw?.directory !== 'string' || typeof raw.listen !== 'string') {
		throw new XiError('CONFIG_INVALID', `${path} needs "directory" and "listen"; run \`xi-exec relay config --dir DIR\` again to rewrite it.`);
	}

	return {directory: raw.directory, listen: raw.listen, ...(raw.cluster ? {cluster: raw.cluster} : {})};
}

export function writeRelaySettings(home: string, settings: RelaySettings): void {
	writeFileAtomic(relaySettingsFile(home), `${JSON.stringify(settings, null, '\t')}\n`, 0o600);
}
