/** Which users a script file may belong to, and the uid/gid a script runs as. */
import type {Owners} from './allowlist.js';
import {lookupUser} from './users.js';

const agentUid = () => process.getuid?.() ?? 0;

export function ownersFor(runAs: string | undefined): Owners | string {
	if (runAs === undefined) {
		return {agentUid: agentUid()};
	}

	if (agentUid() !== 0) {
		return `runAs ${runAs} needs the agent to run as root (it runs as uid ${agentUid()})`;
	}

	const user = lookupUser(runAs);
	return user ? {agentUid: 0, runAsUid: user.uid} : `runAs user ${JSON.stringify(runAs)} does not exist on this host`;
}

export function runAsIds(runAs: string | undefined): {uid?: number; gid?: number} {
	if (runAs === undefined || agentUid() !== 0) {
		return {};
	}

	const user = lookupUser(runAs);
	if (!user) {
		throw new Error(`runAs user ${JSON.stringify(runAs)} no longer exists`);
	}

	return {uid: user.uid, gid: user.gid};
}
