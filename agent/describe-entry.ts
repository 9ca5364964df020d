/**
 * One allowlist entry as discovery advertises it: its name, description, limits, argument schema
 * and the digest of the entry as loaded, never its path or users (the digest covers them). A plan's
 * entry digest (run/entry-digest.ts) is taken over this description, so the agent's own checks of
 * a planned or approved run (planned-entry.ts, approved-entry.ts) call it too. Pure: it lives apart
 * from the loader (loaded-allowlist.ts, which opens files) so that the execution boundary
 * (decide-run.ts) imports no IO module, which test/architecture/pure-modules.test.ts checks.
 */
import type {ScriptDescription} from '../source/protocol/frames.js';
import type {LoadedEntry} from './loaded-allowlist.js';

export function describeEntry({name, entry, digest}: LoadedEntry): ScriptDescription {
	return {
		name,
		description: entry.description,
		timeoutSeconds: entry.timeoutSeconds,
		...(entry.args === undefined ? {} : {args: entry.args}),
		...(entry.maxTargets === undefined ? {} : {maxTargets: entry.maxTargets}),
		...(entry.confirm ? {confirm: true} : {}),
		...(entry.readOnly ? {readOnly: true} : {}),
		...(digest === undefined ? {} : {digest}),
	};
}
