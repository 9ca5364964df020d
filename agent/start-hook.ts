/**
 * The auth hook as the agent starts it: its configuration (an executable gets the accepted
 * policy's path), and a check of its files that runs now and again at every reload (the hook runs
 * as the agent: its files must pass the allowlist's checks). At start an unusable hook is a
 * configuration error, said once, rather than a denial of every run later; after a reload it is
 * logged, and every run is denied until it is fixed.
 */
import {XiError} from '../source/errors.js';
import {hookConfig} from './agent-audit.js';
import type {Owners} from './allowlist.js';
import {loadHookFile, type HookConfig} from './auth-hook.js';
import type {AgentLog} from './execute-run.js';
import type {AgentConfig, AgentPaths} from './home.js';
import {ownersFor} from './owners.js';
import {policyPaths} from './policy-snapshot.js';

export type StartedHook = {hook: HookConfig | undefined; check: () => void};

export function startHook(config: AgentConfig, paths: AgentPaths, log: AgentLog): StartedHook {
	const hook = hookConfig(config, paths);
	if (hook?.command) {
		hook.env = {...hook.env, XI_EXEC_POLICY: policyPaths(paths).active};
	}

	const check = (): void => {
		if (hook?.command) {
			hook.file = loadHookFile(hook.command, ownersFor(undefined) as Owners, config.hookInterpreter);
			if ('problem' in hook.file) {
				log('hook.unusable', {hook: hook.command, reason: `${hook.file.problem}; every run is denied until it is fixed and the agent reloaded (SIGHUP)`});
			}
		}
	};

	check();
	if (hook?.file && 'problem' in hook.file) {
		throw new XiError('HOOK_UNUSABLE', `Refusing to start: the auth hook ${hook.command} cannot be used: ${hook.file.problem}. Fix it (or remove "hook" from ${paths.config}), then start the agent again.`);
	}

	return {hook, check};
}
