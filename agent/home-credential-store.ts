/**
 * Where a running agent keeps renewed credentials and changed pins: its home. The replaced
 * certificate is kept beside the new one (installCredentials), and `changed` tells the caller, so
 * what the relay signs with and checks against stays current. `filesChanged`: the key and
 * certificate files were replaced (a renewal) or deleted (unpairing), for what reads them once
 * and keeps them (the audit checkpoints' signer, agent-audit.ts).
 */
import {readTextFile} from '../source/io/files.js';
import {deleteCredentials, installCredentials, type AgentCredentials} from './credentials.js';
import {writePins, type AgentPaths} from './home.js';
import type {Pins} from './pins.js';
import type {CredentialStore} from './server-options.js';
import {readFacts} from './start-files.js';

export type CredentialChange = {credentials: Pick<AgentCredentials, 'key' | 'cert'>} | {pins: Pins};

export function homeCredentialStore(paths: AgentPaths, changed: (change: CredentialChange) => void, filesChanged: () => void): CredentialStore {
	return {
		install(next) {
			const replaced = readTextFile(paths.cert, 'the agent certificate');
			installCredentials(paths, {serial: readFacts(replaced, paths.cert).serial, cert: replaced}, next);
			filesChanged();
			changed({credentials: next});
		},
		forget: () => {
			deleteCredentials(paths);
			filesChanged();
		},
		savePins(next) {
			writePins(paths, next);
			changed({pins: next});
		},
	};
}
