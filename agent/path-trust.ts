/**
 * Whom a file on the way to an executable must belong to, and who may write it: the rule the
 * walk in open-executable.ts applies to every component it opens (directory, symbolic link,
 * file), given that component's own owner and mode. Pure.
 *
 * - Owned by root or by the agent's own user; never by the unprivileged user a script runs as
 *   (when that differs), who could otherwise change what runs as that user... or swap it.
 * - A symbolic link's mode means nothing (always 0777): its owner is all that counts.
 * - A directory or file is not writable by its group or others. A sticky directory is exempt when
 *   it is root-owned and its group cannot write it, except through root's own group (gid 0):
 *   `/tmp` (1777 root:root) passes, `1775 root:staff` does not. In a sticky directory nobody but
 *   an entry's owner (and root) can rename or remove the entry, and the entries on the path are
 *   checked in turn; a group-writable sticky directory with a non-root group hands its group the
 *   same power over new names as everyone, with a second set of people to trust.
 */
import type {Owners} from './allowlist.js';

export type ComponentKind = 'file' | 'directory' | 'symbolic link';

export type ComponentFacts = {uid: number; gid: number; mode: number};

export function trustProblem(path: string, facts: ComponentFacts, owners: Owners, kind: ComponentKind): string | undefined {
	if (facts.uid !== 0 && facts.uid !== owners.agentUid) {
		return `${kind === 'symbolic link' ? 'the symbolic link ' : ''}${path} is owned by uid ${facts.uid}, neither root nor the agent's user (uid ${owners.agentUid})`;
	}

	if (owners.runAsUid !== undefined && owners.runAsUid !== owners.agentUid && facts.uid === owners.runAsUid) {
		return `${path} is owned by the user scripts run as (uid ${owners.runAsUid}), who could change it`;
	}

	if (kind === 'symbolic link') {
		return undefined;
	}

	const groupWritable = (facts.mode & 0o020) !== 0;
	const othersWritable = (facts.mode & 0o002) !== 0;
	if (!groupWritable && !othersWritable) {
		return undefined;
	}

	const sticky = (facts.mode & 0o1000) !== 0;
	if (kind === 'directory' && sticky && facts.uid === 0 && (!groupWritable || facts.gid === 0)) {
		return undefined;
	}

	const mode = (facts.mode & 0o7777).toString(8);
	return `${path} is writable by ${groupWritable ? 'its group' : 'others'} (mode ${mode}${sticky && kind === 'directory' ? `, sticky: exempt only when owned by root and its group (gid ${facts.gid}) is root's or cannot write` : ''})`;
}
