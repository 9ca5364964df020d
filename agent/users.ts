/** Looks up a local user by name in /etc/passwd (Node has no getpwnam). */
import {readFileSync} from 'node:fs';

export type LocalUser = {name: string; uid: number; gid: number};

export function lookupUser(name: string, passwdPath = '/etc/passwd'): LocalUser | undefined {
	const text = readFileSync(passwdPath, 'utf8');
	for (const line of text.split('\n')) {
		const fields = line.split(':');
		if (fields[0] === name && fields.length >= 4) {
			return {name, uid: Number(fields[2]), gid: Number(fields[3])};
		}
	}

	return undefined;
}
