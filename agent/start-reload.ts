/**
 * What the agent reads again on SIGHUP: the allowlist, the policy, the hook's files and the tags
 * it reports about itself. Nothing is read again from a home others could have changed (runs are
 * refused meanwhile: homeProblem). A part that fails to load keeps the previous one in force and
 * says so in the log; `allowlist.reloaded` is logged last, so whoever waits for it finds the hook,
 * the policy and the tags of this reload in force too.
 */
import {sameTags} from '../source/policy/tags.js';
import type {AuditLog} from '../source/audit/file-log.js';
import type {AgentLog} from './execute-run.js';
import {currentHomeProblem} from './home-modes.js';
import {readAgentConfig, readAllowlistFile, type AgentConfig, type AgentPaths} from './home.js';
import {loadAllowlist, schemaCompilerFor, type LoadedAllowlist} from './loaded-allowlist.js';
import {ownersFor} from './owners.js';
import {acceptPolicy} from './policy-snapshot.js';

/** The allowlist file, loaded; each entry that cannot be used is logged (it is refused when asked for). */
export async function loadAllowlistOf(paths: AgentPaths, log: AgentLog): Promise<LoadedAllowlist> {
	const file = readAllowlistFile(paths);
	const loaded = loadAllowlist(file, entry => ownersFor(entry.runAs), await schemaCompilerFor(file));
	for (const entry of loaded.values()) {
		if (entry.problem) {
			log('allowlist.unusable', {script: entry.name, reason: entry.problem});
		}
	}

	return loaded;
}

export type ReloadPorts = {
	paths: AgentPaths;
	/** The running config: its tags are replaced in place (the server reads config.tags for every description and hook context). */
	config: AgentConfig;
	log: AgentLog;
	audit: Pick<AuditLog, 'append'>;
	setAllowlist: (allowlist: LoadedAllowlist) => void;
	checkHook: () => void;
	/** Whether the agent began to stop: a reload that was reading its files then puts nothing in force. */
	stopping: () => boolean;
};

const stoppingReason = 'the agent is stopping: its files are read again at its next start';

/**
 * SIGHUP's reload, one at a time in the order asked: a reload still loading an older allowlist (its
 * schema compiler being imported) must not set it after a newer one did (a script just denied
 * allowed again). Refused while stopping, when asked and when its turn comes (nothing read again,
 * nothing recorded after agent.stopped); one that was loading when the stop began puts nothing in
 * force (reloadAgent), and the stop waits for it (`idle`) before it records agent.stopped.
 */
export function serialReloads(reload: () => Promise<void>, stopping: () => boolean, log: AgentLog): {reload: () => void; idle: () => Promise<void>} {
	let previous = Promise.resolve();
	const refusedWhileStopping = () => {
		if (stopping()) {
			log('reload.refused', {reason: stoppingReason});
			return true;
		}

		return false;
	};

	return {
		reload() {
			if (refusedWhileStopping()) {
				return;
			}

			previous = previous.then(async () => {
				if (!refusedWhileStopping()) {
					await reload();
				}
			}).catch((error: unknown) => {
				log('allowlist.reload-failed', {reason: (error as Error).message});
			});
		},
		idle: async () => previous,
	};
}

export async function reloadAgent(ports: ReloadPorts): Promise<void> {
	const {paths, log} = ports;
	const unsafe = currentHomeProblem(paths);
	if (unsafe !== undefined) {
		log('reload.refused', {reason: `${unsafe}; nothing was reloaded and every run is refused until it is fixed`});
		return;
	}

	let reloaded: LoadedAllowlist | undefined;
	try {
		reloaded = await loadAllowlistOf(paths, log);
	} catch (error) {
		log('allowlist.reload-failed', {reason: (error as Error).message});
	}

	// The one wait (an argument schema's compiler imported): a stop that began meanwhile changes nothing after "stopping".
	if (ports.stopping()) {
		log('reload.refused', {reason: stoppingReason});
		return;
	}

	if (reloaded) {
		ports.setAllowlist(reloaded);
	}

	const policy = acceptPolicy(paths);
	if (policy.state === 'refused') {
		log('policy.reload-failed', {reason: `${policy.reason}; the previous policy stays in force`});
	} else {
		log('policy.reloaded', {policy: policy.state});
	}

	ports.checkHook();
	reloadOwnTags(ports);
	if (reloaded) {
		log('allowlist.reloaded', {scripts: reloaded.size});
	}
}

/** `xi-exec-agent tag set|unset` changed the tags this agent reports about itself: take them, and record it. */
function reloadOwnTags({paths, config, log, audit}: ReloadPorts): void {
	let tags: AgentConfig['tags'];
	try {
		({tags} = readAgentConfig(paths));
	} catch (error) {
		log('tags.reload-failed', {reason: (error as Error).message});
		return;
	}

	if (sameTags(tags, config.tags)) {
		return;
	}

	const before = config.tags;
	config.tags = tags;
	log('tags.reloaded', {tags});
	void audit.append({event: 'agent.tags', agent: config.name, before, after: tags}).catch((error: unknown) => {
		log('audit.failed', {record: 'agent.tags', reason: (error as Error).message});
	});
}
